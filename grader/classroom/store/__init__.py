"""The class database: tables (:mod:`.models`), opening and migrating it (:mod:`.database`),
and what the server and ``grade class`` do with it (:mod:`.queries`)."""

"""The class server: the ASGI application (:mod:`.app`), its live stream (:mod:`.events`),
what guards it (:mod:`.guard`), pushed reports read as hostile input (:mod:`.reports`), and
its runner under Uvicorn (:mod:`.run`)."""

"""Every explanation a shared check helper can give, in French and English, in one place.

Placeholders are filled with :meth:`grader.i18n.Text.format`. Exercise-specific wording
belongs to the exercise (its checks build their own :class:`~grader.i18n.Text`).
"""

from __future__ import annotations

from grader.i18n import Text

CONTAINER_MISSING = Text(
    fr="le conteneur « {name} » n'existe pas",
    en="container '{name}' does not exist",
)
CONTAINER_NOT_RUNNING = Text(
    fr="le conteneur « {name} » n'est pas en marche (état : {status})",
    en="container '{name}' is not running (state: {status})",
)
NETWORK_MISSING = Text(
    fr="le réseau « {name} » n'existe pas",
    en="network '{name}' does not exist",
)
NETWORK_DRIVER = Text(
    fr="le réseau « {name} » utilise le pilote « {driver} », pas « {expected} »",
    en="network '{name}' uses driver '{driver}', not '{expected}'",
)
VOLUME_MISSING = Text(
    fr="le volume « {name} » n'existe pas",
    en="volume '{name}' does not exist",
)
VOLUME_DRIVER = Text(
    fr="le volume « {name} » utilise le pilote « {driver} », pas « {expected} »",
    en="volume '{name}' uses driver '{driver}', not '{expected}'",
)
NOT_ATTACHED = Text(
    fr="le conteneur « {container} » n'est pas connecté au réseau « {network} » "
    "(ses réseaux : {networks})",
    en="container '{container}' is not attached to network '{network}' (its networks: {networks})",
)
ALSO_ATTACHED = Text(
    fr="le conteneur « {container} » doit être seulement sur « {network} », "
    "mais il est aussi sur : {others}",
    en="container '{container}' must be on '{network}' only, but is also on: {others}",
)
DNS_NXDOMAIN = Text(
    fr="depuis « {where} », le DNS de Docker (127.0.0.11) ne connaît pas le nom « {name} »",
    en="from '{where}', Docker's DNS (127.0.0.11) does not know the name '{name}'",
)
DNS_NO_REPLY = Text(
    fr="depuis « {where} », le DNS de Docker (127.0.0.11) ne répond pas",
    en="from '{where}', Docker's DNS (127.0.0.11) does not answer",
)
DNS_FAILED = Text(
    fr="depuis « {where} », la requête DNS pour « {name} » a échoué : {detail}",
    en="from '{where}', the DNS query for '{name}' failed: {detail}",
)
DNS_WRONG_ADDRESS = Text(
    fr="depuis « {where} », « {name} » désigne {answers}, et non {address} "
    "(l'adresse de « {target} » sur « {network} »)",
    en="from '{where}', '{name}' resolves to {answers}, not {address} "
    "(the address of '{target}' on '{network}')",
)
DNS_NOT_ISOLATED = Text(
    fr="depuis « {where} », « {name} » désigne {address}, une adresse de « {target} » : "
    "ce conteneur voit un réseau dont il devrait être isolé",
    en="from '{where}', '{name}' resolves to {address}, an address of '{target}': "
    "this container sees a network it should be isolated from",
)
TCP_FAILED = Text(
    fr="depuis « {where} », pas de connexion TCP vers {host}:{port} ({detail})",
    en="from '{where}', no TCP connection to {host}:{port} ({detail})",
)
NOT_PUBLISHED = Text(
    fr="le conteneur « {container} » ne publie pas son port {container_port}/{protocol} "
    "sur le port {host_port} de l'hôte (publications : {published})",
    en="container '{container}' does not publish its port {container_port}/{protocol} "
    "on host port {host_port} (published: {published})",
)
HTTP_NO_RESPONSE = Text(
    fr="GET {url} sur l'hôte du moteur Docker : aucune réponse ({detail})",
    en="GET {url} on the Docker Engine's host: no response ({detail})",
)
HTTP_STATUS = Text(
    fr="GET {url} sur l'hôte du moteur Docker répond {status}, et non {expected}",
    en="GET {url} on the Docker Engine's host answers {status}, not {expected}",
)
LEGACY_LINKS = Text(
    fr="liens hérités (--link / links:) utilisés : {links}",
    en="legacy links (--link / links:) in use: {links}",
)
NONE = Text(fr="aucun", en="none")

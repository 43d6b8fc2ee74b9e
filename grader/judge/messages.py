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
CONTAINER_RESTARTING = Text(
    fr="le conteneur « {name} » redémarre en boucle (relancé {count} fois par sa politique de "
    "redémarrage) : regardez docker logs {name}",
    en="container '{name}' keeps restarting (restarted {count} times by its restart policy): "
    "look at docker logs {name}",
)
CONTAINER_PAUSED = Text(
    fr="le conteneur « {name} » est en pause (docker unpause {name})",
    en="container '{name}' is paused (docker unpause {name})",
)
CONTAINER_GONE = Text(
    fr="le conteneur « {name} » a disparu pendant la correction",
    en="container '{name}' disappeared during grading",
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
    fr="depuis « {where} », le DNS de Docker (127.0.0.11) ne répond pas pour « {name} »",
    en="from '{where}', Docker's DNS (127.0.0.11) does not answer for '{name}'",
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
TCP_TO_CONTAINER_FAILED = Text(
    fr="depuis « {where} », pas de connexion TCP vers « {target} » sur le port {port} "
    "(son adresse sur « {network} » : {address}) : {detail}",
    en="from '{where}', no TCP connection to '{target}' on port {port} "
    "(its address on '{network}': {address}): {detail}",
)
NO_ADDRESS = Text(
    fr="le conteneur « {container} » n'a pas d'adresse IPv4 sur le réseau « {network} »",
    en="container '{container}' has no IPv4 address on network '{network}'",
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
HTTP_NOT_HTTP = Text(
    fr="GET {url} sur l'hôte du moteur Docker : la réponse ne commence pas par une ligne "
    "de statut HTTP ({detail})",
    en="GET {url} on the Docker Engine's host: the response does not start with an HTTP "
    "status line ({detail})",
)
PUBLISHED_CHANGED = Text(
    fr="le conteneur « {container} » a changé pendant la correction ({change}) : la réponse "
    "sur son port publié ne peut pas lui être attribuée",
    en="container '{container}' changed during grading ({change}): the answer on its "
    "published port cannot be credited to it",
)
CHANGE_GONE = Text(fr="il a disparu", en="it is gone")
CHANGE_REPLACED = Text(fr="remplacé par un autre conteneur", en="replaced by another container")
CHANGE_RESTARTED = Text(fr="redémarré", en="restarted")
LEGACY_LINKS = Text(
    fr="liens hérités (--link / links:) utilisés : {links}",
    en="legacy links (--link / links:) in use: {links}",
)
NONE = Text(fr="aucun", en="none")
FOUND_OUTSIDE_PROJECT = {
    "container": Text(
        fr="conteneur « {name} » trouvé hors du projet {project} (par son nom exact)",
        en="container '{name}' found outside project {project} (by its exact name)",
    ),
    "network": Text(
        fr="réseau « {name} » trouvé hors du projet {project} (par son nom exact)",
        en="network '{name}' found outside project {project} (by its exact name)",
    ),
    "volume": Text(
        fr="volume « {name} » trouvé hors du projet {project} (par son nom exact)",
        en="volume '{name}' found outside project {project} (by its exact name)",
    ),
    "image": Text(
        fr="image « {name} » trouvée hors du projet {project} (par son nom exact)",
        en="image '{name}' found outside project {project} (by its exact name)",
    ),
    "service": Text(
        fr="service « {name} » trouvé hors du projet {project} (par son nom exact)",
        en="service '{name}' found outside project {project} (by its exact name)",
    ),
}

# -- swarm (tp-overlay) -----------------------------------------------------------------------
NOT_A_SWARM_MANAGER = Text(
    fr="ce Docker Engine n'est pas le manager d'un swarm (état : {state}) ; "
    "lancez docker swarm init",
    en="this Docker Engine is not a swarm manager (state: {state}); run docker swarm init",
)
SERVICE_MISSING = Text(
    fr="le service « {name} » n'existe pas (docker service ls)",
    en="service '{name}' does not exist (docker service ls)",
)
SERVICE_RESTARTING = Text(
    fr="les tâches du service « {name} » s'arrêtent et le swarm les relance "
    "({running}/{wanted} en marche après {waited:.0f} s) : {why} (docker service ps {name})",
    en="the tasks of service '{name}' stop and the swarm starts them again "
    "({running}/{wanted} running after {waited:.0f} s): {why} (docker service ps {name})",
)
SERVICE_CONVERGING = Text(
    fr="le service « {name} » converge encore après {waited:.0f} s : {running}/{wanted} "
    "tâches en marche{why} (docker service ps {name})",
    en="service '{name}' is still converging after {waited:.0f} s: {running}/{wanted} "
    "tasks running{why} (docker service ps {name})",
)

# -- mounts, files, archives, users (volumes labs) --------------------------------------------
KIND = {
    "file": Text(fr="un fichier", en="a file"),
    "dir": Text(fr="un dossier", en="a directory"),
    "symlink": Text(fr="un lien symbolique", en="a symbolic link"),
    "hardlink": Text(fr="un lien physique", en="a hard link"),
    "other": Text(fr="un fichier spécial", en="a special file"),
}
ON_ENGINE_HOST = Text(fr="sur l'hôte du moteur Docker", en="on the Docker Engine's host")
IN_CONTAINER = Text(fr="dans le conteneur « {name} »", en="in container '{name}'")
IN_VOLUME = Text(fr="dans le volume « {name} »", en="in volume '{name}'")
NOTHING_MOUNTED = Text(
    fr="rien n'est monté sur {destination} dans « {container} » (montages : {mounts})",
    en="nothing is mounted on {destination} in '{container}' (mounts: {mounts})",
)
NOT_A_BIND = Text(
    fr="{destination} dans « {container} » est un montage de type {type}, "
    "pas un dossier de l'hôte (bind mount)",
    en="{destination} in '{container}' is a {type} mount, not a host folder (bind mount)",
)
WRONG_BIND_SOURCE = Text(
    fr="{destination} dans « {container} » vient du dossier « {source} » de l'hôte, "
    "pas de « {expected} »",
    en="{destination} in '{container}' comes from host folder '{source}', not '{expected}'",
)
NOT_A_VOLUME = Text(
    fr="{destination} dans « {container} » est un montage de type {type}, pas le volume "
    "« {expected} »",
    en="{destination} in '{container}' is a {type} mount, not volume '{expected}'",
)
WRONG_VOLUME = Text(
    fr="{destination} dans « {container} » est le volume « {name} », pas « {expected} »",
    en="{destination} in '{container}' is volume '{name}', not '{expected}'",
)
MOUNT_READ_ONLY = Text(
    fr="{destination} est monté en lecture seule dans « {container} » ; il doit être en "
    "lecture-écriture",
    en="{destination} is mounted read-only in '{container}'; it must be read-write",
)
MOUNT_WRITABLE = Text(
    fr="{destination} est monté en lecture-écriture dans « {container} » ; il doit être en "
    "lecture seule (:ro)",
    en="{destination} is mounted read-write in '{container}'; it must be read-only (:ro)",
)
PATH_MISSING = Text(fr="{path} n'existe pas {where}", en="{path} does not exist {where}")
PATH_NOT_FILE = Text(
    fr="{path} est {kind} {where}, pas un fichier ordinaire",
    en="{path} is {kind} {where}, not a regular file",
)
FILE_EMPTY = Text(fr="{path} est vide {where}", en="{path} is empty {where}")
NO_VOLUMES_FROM = Text(
    fr="« {container} » n'a pas été créé avec --volumes-from {source} (volumes-from : {refs})",
    en="'{container}' was not created with --volumes-from {source} (volumes-from: {refs})",
)
ARCHIVE_PROBLEM = {
    "missing": Text(fr="{path} n'existe pas {where}", en="{path} does not exist {where}"),
    "not-a-file": Text(
        fr="{path} est {kind} {where}, pas un fichier d'archive",
        en="{path} is {kind} {where}, not an archive file",
    ),
    "too-large": Text(
        fr="{path} fait {size} octets {where} : bien trop pour une sauvegarde de ce TP "
        "(limite {limit})",
        en="{path} is {size} bytes {where}: far too large for this lab's backup (limit {limit})",
    ),
    "not-a-tar": Text(
        fr="{path} n'est pas une archive tar (ni tar.gz) {where}",
        en="{path} is not a tar (or tar.gz) archive {where}",
    ),
    "too-many-members": Text(
        fr="{path} contient trop d'entrées pour une sauvegarde de ce TP",
        en="{path} holds too many entries for this lab's backup",
    ),
    "too-large-unpacked": Text(
        fr="{path} décompressé dépasse la taille permise pour une sauvegarde de ce TP",
        en="{path} unpacks beyond what this lab's backup may take",
    ),
    "truncated": Text(
        fr="{path} est une archive tronquée ou corrompue {where}",
        en="{path} is a truncated or corrupt archive {where}",
    ),
}
ARCHIVE_NO_MEMBER = Text(
    fr="{path} ne contient aucun fichier {name} (entrées : {members})",
    en="{path} holds no file {name} (entries: {members})",
)
ARCHIVE_STALE = Text(
    fr="{member} dans {path} fait {size} octets, mais {name} du volume en fait {expected} "
    "maintenant : la sauvegarde n'est pas à jour",
    en="{member} in {path} is {size} bytes, but the volume's {name} is {expected} now: "
    "the backup is out of date",
)
IMAGE_MISSING = Text(fr="l'image « {name} » n'existe pas", en="image '{name}' does not exist")
WRONG_IMAGE = Text(
    fr="« {container} » tourne à partir de l'image « {image} », pas de « {expected} »",
    en="'{container}' runs from image '{image}', not '{expected}'",
)
NOT_CREATED_BY_COMPOSE = Text(
    fr="le conteneur « {container} » n'a pas été créé par Docker Compose (il n'a pas "
    "l'étiquette com.docker.compose.project)",
    en="container '{container}' was not created by Docker Compose (it has no "
    "com.docker.compose.project label)",
)
IMAGE_PULLED = Text(
    fr="« {container} » tourne à partir de l'image « {image} », qui vient d'un registre "
    "({digest}) : elle a été téléchargée, pas construite depuis votre dossier",
    en="'{container}' runs image '{image}', which comes from a registry ({digest}): it was "
    "pulled, not built from your folder",
)
IMAGE_BUILT_FOR_OTHER = Text(
    fr="l'image « {image} » de « {container} » a été construite par Compose pour le service "
    "« {service} » du projet « {project} », pas pour le service « {expected_service} » du "
    "projet « {expected_project} »",
    en="image '{image}' of '{container}' was built by Compose for service '{service}' of "
    "project '{project}', not for service '{expected_service}' of project "
    "'{expected_project}'",
)
IMAGE_NOT_BUILT_BY_COMPOSE = Text(
    fr="l'image « {image} » de « {container} » n'a pas été construite par Docker Compose "
    "(docker build -t, ou docker tag d'une autre image) : elle ne porte aucune des étiquettes "
    "que Compose met sur ce qu'il construit",
    en="image '{image}' of '{container}' was not built by Docker Compose (docker build -t, or "
    "docker tag of another image): it carries none of the labels Compose puts on what it builds",
)
PID_NAMESPACE_SHARED = Text(
    fr="« {container} » partage l'espace de PID de « {other} » (--pid container:{other}) : "
    "son processus principal ne se distingue pas des autres ; lancez-le sans --pid",
    en="'{container}' shares the PID namespace of '{other}' (--pid container:{other}): its "
    "main process cannot be told from the others; run it without --pid",
)
RUNS_AS_ROOT = Text(
    fr="le processus principal de « {container} » tourne en root (uid 0)",
    en="the main process of '{container}' runs as root (uid 0)",
)
MAY_BECOME_ROOT = Text(
    fr="le processus principal de « {container} » tourne avec l'uid {uid} mais garde l'uid 0 "
    "(réel ou sauvegardé) : il peut redevenir root à tout moment",
    en="the main process of '{container}' runs as uid {uid} but keeps uid 0 (real or saved): "
    "it can become root again at any time",
)
RUNS_AS_OTHER = Text(
    fr="le processus principal de « {container} » tourne avec l'uid {uid} ({name}), "
    "pas l'utilisateur « {expected} »",
    en="the main process of '{container}' runs as uid {uid} ({name}), not user '{expected}'",
)
NOT_OWNED = Text(
    fr="{path} {where} appartient à l'uid {owner}, pas à {uid} ({name})",
    en="{path} {where} is owned by uid {owner}, not {uid} ({name})",
)
UNNAMED = Text(fr="sans nom", en="no name")

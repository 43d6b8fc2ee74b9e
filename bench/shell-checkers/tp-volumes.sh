#!/usr/bin/env bash
# A plain docker-CLI checker for tp-volumes, as a teacher would write one: the same
# observations as `grade check tp-volumes`, one docker command or throwaway busybox probe each.
# The baseline of bench/bench_check.py; prints "score/20". Host folders: DATA_DIR, BACKUP_DIR.
# graphite's user is read by a probe in its PID namespace, its files with docker cp: nothing of
# graphite's image runs.
set -u
PROBE=${PROBE:-busybox:1.36.1}
DATA_DIR=${DATA_DIR:-/tmp/data}
BACKUP_DIR=${BACKUP_DIR:-/tmp/backup}
score=0
pass() { score=$((score + $1)); echo "ok   $2"; }
miss() { echo "FAIL $1"; }
running() { [ "$(docker inspect "$1" --format '{{.State.Running}}' 2>/dev/null)" = true ]; }
mount_of() {  # container destination -> "type source name rw"
  docker inspect "$1" --format "{{range .Mounts}}{{if eq .Destination \"$2\"}}{{.Type}} {{.Source}} {{.Name}} {{.RW}}{{end}}{{end}}" 2>/dev/null
}

bind_ok=0
if running testdata && [ "$(mount_of testdata /data)" = "bind $DATA_DIR  true" ]; then
  pass 3 bind-mount; bind_ok=1
else miss bind-mount; fi
if [ $bind_ok = 1 ]; then
  if docker run --rm -v "$DATA_DIR":/h:ro "$PROBE" test -f /h/testfile \
    && docker exec testdata test -f /data/testfile 2>/dev/null; then pass 2 bind-contenu
  else miss bind-contenu; fi
fi

vol_ok=0
[ "$(docker volume inspect redis_data --format '{{.Driver}}' 2>/dev/null)" = local ] \
  && { pass 2 volume-nomme; vol_ok=1; } || miss volume-nomme
running redis && [ "$(mount_of redis /data)" = "volume $(docker volume inspect redis_data --format '{{.Mountpoint}}' 2>/dev/null) redis_data true" ] \
  && pass 2 redis-volume || miss redis-volume
dump_ok=0
if [ $vol_ok = 1 ] && docker run --rm -v redis_data:/v:ro "$PROBE" test -s /v/dump.rdb; then
  pass 1 donnees-persistees; dump_ok=1
else miss donnees-persistees; fi
running redis2 && [ "$(mount_of redis2 /data | cut -d' ' -f1,3,4)" = "volume redis_data false" ] \
  && pass 2 lecture-seule || miss lecture-seule
redis_id=$(docker inspect redis --format '{{.Id}}' 2>/dev/null)
from=$(docker inspect sidecar --format '{{range .HostConfig.VolumesFrom}}{{.}} {{end}}' 2>/dev/null)
from_ok=0
for ref in $from; do
  [ "$(docker inspect "${ref%%:*}" --format '{{.Id}}' 2>/dev/null)" = "$redis_id" ] && from_ok=1
done
running sidecar && [ $from_ok = 1 ] && [ "$(mount_of sidecar /data | cut -d' ' -f1,3)" = "volume redis_data" ] \
  && pass 2 volumes-from || miss volumes-from

if [ $dump_ok = 1 ]; then
  size=$(docker run --rm -v redis_data:/v:ro "$PROBE" stat -c %s /v/dump.rdb)
  if docker run --rm -v "$BACKUP_DIR":/b:ro "$PROBE" sh -c 'test -f /b/redis_data.tar && tar tvf /b/redis_data.tar' 2>/dev/null \
      | awk -v s="$size" '$NF ~ /(^|\/)dump\.rdb$/ && $3 == s {found=1} END {exit !found}'; then
    pass 3 sauvegarde
  else miss sauvegarde; fi
fi

uids=$(docker run --rm --pid container:graphite --network none --read-only "$PROBE" cat /proc/1/status 2>/dev/null | awk '/^Uid:/ {print $2, $3, $4}')
uid=$(echo "$uids" | cut -d' ' -f2)
name=$(docker cp graphite:/etc/passwd - 2>/dev/null | tar -xOf - 2>/dev/null | awk -F: -v u="$uid" '$3 == u {print $1; exit}')
owner=$(docker cp graphite:/data/graphite - 2>/dev/null | tar -tv --numeric-owner -f - 2>/dev/null | head -1 | awk '{split($2, o, "/"); print o[1]}')
if docker image inspect tp-graphite >/dev/null 2>&1 && running graphite \
  && [ "$(mount_of graphite /data/graphite | cut -d' ' -f1,3)" = "volume graphite_data" ] \
  && [ -n "$uid" ] && ! echo " $uids " | grep -q ' 0 ' && [ "$name" = graphite ] && [ "$owner" = "$uid" ]; then
  pass 3 permissions
else miss permissions; fi
echo "$score/20"

#!/usr/bin/env bash
# A plain docker-CLI checker for tp-overlay, as a teacher would write one: the same
# observations as `grade check tp-overlay`, one docker command each and one throwaway busybox
# probe per network namespace observed. The baseline of bench/bench_check.py; prints
# "score/20". Like the grader, a virtual IP or a published port that does not answer (no IPVS
# on the machine) is passed over when each task answers at its own address.
set -u
PROBE=${PROBE:-busybox:1.36.1}
score=0
pass() { score=$((score + $1)); echo "ok   $2"; }
miss() { echo "FAIL $1"; }
in_ns() { docker run --rm --network "container:$1" "$PROBE" "${@:2}"; }

manager=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
services=$(docker service ls --format '{{.Name}}' 2>/dev/null)
[ "$manager" = "active true" ] && echo "$services" | grep -qxE 'redis|moby-counter' \
  && { pass 2 swarm-manager; swarm=1; } || { miss swarm-manager; swarm=0; }

net=$(docker network inspect moby-overlay --format '{{.Driver}} {{.Scope}} {{.Attachable}} {{.Id}}' 2>/dev/null)
[ "${net% *}" = "overlay swarm true" ] && pass 2 overlay-cree || miss overlay-cree
net_id=${net##* }

service_ok() {  # name replicas -> replicas wanted, on the overlay, all running
  local spec running
  spec=$(docker service inspect "$1" --format '{{.Spec.Mode.Replicated.Replicas}} {{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}' 2>/dev/null) || return 1
  [ "${spec%% *}" = "$2" ] && [[ " ${spec#* }" == *" $net_id "* ]] || return 1
  running=$(docker service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running')
  [ "$running" = "$2" ]
}
redis_ok=0; app_ok=0
[ $swarm = 1 ] && service_ok redis 1 && { pass 2 redis-service; redis_ok=1; } || miss redis-service
[ $swarm = 1 ] && service_ok moby-counter 2 && { pass 3 app-service; app_ok=1; } || miss app-service

tasks() {  # service -> its running tasks' container ids
  docker ps -q --filter "label=com.docker.swarm.service.name=$1"
}
vip() { docker service inspect "$1" --format "{{range .Endpoint.VirtualIPs}}{{if eq .NetworkID \"$net_id\"}}{{.Addr}}{{end}}{{end}}" | cut -d/ -f1; }
task_ip() { docker inspect "$1" --format '{{(index .NetworkSettings.Networks "moby-overlay").IPAddress}}'; }

if [ $redis_ok = 1 ] && [ $app_ok = 1 ]; then
  app_tasks=$(tasks moby-counter); first=$(echo "$app_tasks" | head -1)
  redis_vip=$(vip redis); redis_task=$(task_ip "$(tasks redis | head -1)")
  expected=$(for t in $app_tasks; do task_ip "$t"; done | sort | tr '\n' ' ')
  seen=$(in_ns "$first" sh -c "nslookup -type=a redis 127.0.0.11; echo ---; nslookup -type=a tasks.moby-counter 127.0.0.11; echo ---; nc -w 3 $redis_vip 6379 -e true && echo vip-ok; nc -w 3 $redis_task 6379 -e true && echo task-ok" 2>/dev/null)
  rr=$(echo "$seen" | awk '/^---/{n++} n==1 && /^Address: /{print $2}' | sort | tr '\n' ' ')
  if echo "$seen" | awk '/^---/{exit} /^Address: /{print $2}' | grep -qx "$redis_vip" && [ "$rr" = "$expected" ]; then
    pass 3 dns-services
    echo "$seen" | grep -qE '^(vip|task)-ok$' && pass 2 app-vers-redis || miss app-vers-redis
  else
    miss dns-services
  fi
fi

if [ $app_ok = 1 ]; then
  port=$(docker service inspect moby-counter --format '{{range .Endpoint.Ports}}{{.PublishedPort}}:{{.TargetPort}}:{{.PublishMode}} {{end}}')
  ok=1
  [[ " $port" == *" 8080:80:ingress "* ]] || ok=0
  for t in $(tasks moby-counter); do
    in_ns "$t" timeout 5 wget -q -O /dev/null http://127.0.0.1:80/ >/dev/null 2>&1 || ok=0
  done
  # The routing mesh: passed over when nothing answers (no IPVS), not when it answers wrong.
  answer=$(docker run --rm --network host "$PROBE" sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | timeout 5 nc -w 3 127.0.0.1 8080 | head -1')
  [ -z "$answer" ] || [[ "$answer" == *" 200 "* ]] || ok=0
  [ $ok = 1 ] && pass 2 ingress || miss ingress
  app_vip=$(vip moby-counter)
  on=$(docker inspect debug --format '{{.State.Running}} {{with index .NetworkSettings.Networks "moby-overlay"}}yes{{end}}' 2>/dev/null)
  [ "$on" = "true yes" ] && in_ns debug nslookup -type=a moby-counter 127.0.0.11 2>/dev/null | grep -q "Address: $app_vip\$" \
    && pass 2 debug-overlay || miss debug-overlay
fi

opts=$(docker volume inspect cache --format '{{.Driver}} {{index .Options "type"}} {{index .Options "device"}} {{index .Options "o"}}' 2>/dev/null)
mount=$(docker inspect debug --format '{{.State.Running}}{{range .Mounts}}{{if eq .Destination "/cache"}} {{.Name}} {{.RW}}{{end}}{{end}}' 2>/dev/null)
[[ "$opts" == "local tmpfs tmpfs size="* ]] && [ "$mount" = "true cache true" ] && pass 2 volume-cache || miss volume-cache

echo "$score/20"

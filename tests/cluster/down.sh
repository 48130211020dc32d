#!/bin/bash
# Stops what tests/cluster/up.sh DIR started, by the pids it left in DIR, and waits until they are gone.
dir=${1:?usage: down.sh DIR}
for name in slurmd slurmctld moto munged; do
  pid=$(cat "$dir/$name.pid" 2>/dev/null) || continue
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
done

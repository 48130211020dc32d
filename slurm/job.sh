#!/bin/bash
# One job of `python -m ecaser slurm-grid` (src/ecaser/commands/slurm.py says how the three fit together):
#   job.sh inputs STAGE...  make STAGEs in a scratch checkout and push them with their run-cache
#   job.sh train STAGE...   array task i: the same for the i-th STAGE
#   job.sh report           in the submitting checkout: every stage restored from the remote, and the report
# ECASER_REPO (the submitting checkout) and ECASER_COMMIT come with the submission's environment.
set -euo pipefail
role=$1
shift
fail() { echo "error: $*" >&2; exit 1; }

if [ "$role" = report ]; then
  cd "$ECASER_REPO"
  [ "$(git rev-parse HEAD)" = "$ECASER_COMMIT" ] || fail "$ECASER_REPO is no longer at the submitted commit $ECASER_COMMIT"
  exec dvc repro --pull
fi
[ "$role" = train ] && set -- "${!SLURM_ARRAY_TASK_ID}"

# A checkout per job: DVC takes a lock on its repository, and a job that is killed leaves nothing in the others.
work=$(mktemp -d "${ECASER_SCRATCH:-${TMPDIR:-/tmp}}/ecaser-$SLURM_JOB_ID-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM  # scancel: the EXIT trap still removes the checkout
git clone -q --no-checkout "$ECASER_REPO" "$work"
git -C "$work" checkout -q "$ECASER_COMMIT"
[ ! -f "$ECASER_REPO/.dvc/config.local" ] || cp "$ECASER_REPO/.dvc/config.local" "$work/.dvc/"  # remote settings
cd "$work"
export PYTHONPATH=$work/src${PYTHONPATH:+:$PYTHONPATH}  # the commit's package, not the submitting checkout's
echo "commit $ECASER_COMMIT in $work: $*"
dvc repro --pull "$@"  # the first thing it does is read the remote's run-cache: an unreachable remote fails here
# The outputs first, then the run-cache entries (`push --run-cache` alone sends those first): a job killed in
# between leaves whole objects and no entry that names missing ones.
dvc push "$@"
dvc push --run-cache "$@"

#!/bin/sh
# lk-cosign: runs cosign ($LK_COSIGN) with COSIGN_PASSWORD set from the file $LK_COSIGN_PASSWORD_FILE
# or from the output of the shell command $LK_COSIGN_PASSWORD_COMMAND, so that the passphrase is in
# no argv or environment that Pants records, caches or logs.
set -eu
if [ -n "${LK_COSIGN_PASSWORD_COMMAND:-}" ]; then
  if ! COSIGN_PASSWORD=$(/bin/sh -c "$LK_COSIGN_PASSWORD_COMMAND" </dev/null); then
    echo "Error: [linuxkit].signing_passphrase_command failed" >&2
    exit 1
  fi
  export COSIGN_PASSWORD
elif [ -n "${LK_COSIGN_PASSWORD_FILE:-}" ]; then
  COSIGN_PASSWORD=$(cat "$LK_COSIGN_PASSWORD_FILE")
  export COSIGN_PASSWORD
fi
exec "$LK_COSIGN" "$@"

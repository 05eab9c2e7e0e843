#!/bin/sh
# Installs the Debian packages the observability tests need (prometheus, promtool,
# alertmanager, amtool), only when they are missing. Non-interactive and quiet.
#
# The packages' postinst scripts would start a system service on :9090 / :9093. A temporary
# policy-rc.d (exit 101 = "not allowed") stops invoke-rc.d from starting anything, and
# RUNLEVEL=1 keeps older helpers quiet too; a policy-rc.d that was already there is kept.
set -eu

missing=""
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
command -v amtool >/dev/null 2>&1 || missing="$missing prometheus-alertmanager"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "system-deps: need root to apt-get install:$missing" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { [ -n "$own_policy" ] && rm -f "$policy"; return 0; }
trap cleanup EXIT

echo "system-deps: installing$missing (apt-get)"
export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
apt_opts="-qq -y --no-install-recommends -o Dpkg::Use-Pty=0"
# shellcheck disable=SC2086
if ! apt-get install $apt_opts $missing >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install $apt_opts $missing >/dev/null
fi
command -v promtool >/dev/null && command -v amtool >/dev/null

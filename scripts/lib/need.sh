# Sourced by the measuring scripts (load.sh, bench.sh, side_by_side.sh): installs a missing tool with apt.
#   need COMMAND PACKAGE   installs PACKAGE when COMMAND is not on the PATH (apt-get update once)
#   as_root COMMAND...     runs COMMAND as root: directly when root, else through sudo
# The caller defines note().

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 1
  fi
}
apt_updated=0
need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  note "installing $2"
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# Sourced by services.sh and browser.sh: installing from Debian's packages, quietly.

# Whether this shell can install packages: root, with apt-get.
can_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

# apt_install PACKAGE...: refreshes the package lists, then installs.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

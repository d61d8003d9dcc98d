# SPDX-License-Identifier: Apache-2.0
#
# virt-acl-helper guard lockdown: users' libvirt clients (virsh,
# virt-install, ...) connect to the guard by default. Installed as
# /etc/profile.d/virt-acl-helper-guard.sh by
#   /usr/share/virt-acl-helper/lockdown/lockdown enable
# libvirt reads /etc/libvirt/libvirt.conf (uri_default) for root only;
# users' clients read ~/.config/libvirt/libvirt.conf and this variable.
# root keeps libvirtd's own socket; a URI given explicitly (-c) wins.
if [ "$(id -u)" != 0 ] && [ -z "${LIBVIRT_DEFAULT_URI:-}" ]; then
	LIBVIRT_DEFAULT_URI='qemu:///system?socket=/run/virt-acl-helper/libvirt-sock'
	export LIBVIRT_DEFAULT_URI
fi

// SPDX-License-Identifier: Apache-2.0

package policy

//go:generate go run gen.go

// File names under polkit-actions/, installed to
// /usr/share/polkit-1/actions/. The libvirt file must not be called
// org.libvirt.api.policy, so that our package and libvirt's can be installed
// together (polkit accepts the same action defined twice identically).
const (
	LibvirtFile = "io.github.virt-acl-helper.libvirt-api.policy"
	HelperFile  = "io.github.virt-acl-helper.policy"
)

// Files maps each action file name to its contents' source.
func Files() map[string]Set {
	return map[string]Set{LibvirtFile: Libvirt(), HelperFile: Helper()}
}

// SPDX-License-Identifier: Apache-2.0

package acl

// The names of libvirt's access drivers, as libvirtd.conf's access_drivers
// lists them (src/access/viraccessdrivernop.c, viraccessdriverpolkit.c).
const (
	AccessDriverNone   = "none"   // allows everything
	AccessDriverPolkit = "polkit" // asks polkit
)

// defaultDrivers are the libvirt drivers that own each object type on a
// usual host, as polkit sees them in connect_driver.
var defaultDrivers = [...]string{
	Connect: "QEMU", Domain: "QEMU", Interface: "interface",
	Network: "network", NetworkPort: "network", NodeDevice: "nodedev",
	NWFilter: "NWFilter", NWFilterBinding: "NWFilter", Secret: "secret",
	StoragePool: "storage", StorageVol: "storage",
}

// DefaultDriver returns the libvirt driver that owns objects of type t on a
// usual host, the value of their connect_driver detail: "QEMU" for
// domains (and the connection), libvirt's own secondary drivers
// ("network", "storage", "nodedev", ...) for the rest. It is "" for an
// invalid type. A monolithic libvirtd reached over qemu:///system says
// "QEMU" for every type; callers that know the driver should say so.
func (t ObjectType) DefaultDriver() string {
	if !t.Valid() {
		return ""
	}
	return defaultDrivers[t]
}

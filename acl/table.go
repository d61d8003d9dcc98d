// SPDX-License-Identifier: Apache-2.0

package acl

// permDef is one row of libvirt's permission table.
type permDef struct {
	name      string // libvirt's spelling, with underscores
	desc      string // polkit <description>
	message   string // polkit <message>
	anonymous bool   // readable without authorization (libvirt's default "yes")
}

// objectDef is one libvirt object type: its name, the polkit detail keys
// libvirt sends after connect_driver, and its permissions in libvirt's
// (alphabetical) order.
type objectDef struct {
	name  string
	attrs []Attr
	perms []permDef
}

// objectDefs is indexed by ObjectType. It is never modified.
//
// Descriptions and messages are libvirt 9.0's, typos and all (network_port
// write is described as "Read network port" there too), so that the action
// definitions we install are identical to libvirt's own.
var objectDefs = [...]objectDef{
	Connect: {
		name: "connect",
		perms: []permDef{
			{"detect_storage_pools", "Detect storage pools", "Detecting storage pools requires authorization", false},
			{"getattr", "Access connection", "Accessing the connection requires authorization", true},
			{"interface_transaction", "Interface transactions", "Using interface transactions requires authorization", false},
			{"pm_control", "Use host power management", "Using host power management requires authorization", false},
			{"read", "Read host", "Reading the host configuration requires authorization", true},
			{"search_domains", "List domains", "Listing domains or using domain events requires authorization", true},
			{"search_interfaces", "List interfaces", "Listing interfaces requires authorization", true},
			{"search_networks", "List networks", "Listing networks or using network events requires authorization", true},
			{"search_node_devices", "List node devices", "Listing node devices requires authorization", true},
			{"search_nwfilter_bindings", "List network filter bindings", "Listing network filter bindings requires authorization", true},
			{"search_nwfilters", "List network filters", "Listing network filters requires authorization", true},
			{"search_secrets", "List secrets", "Listing secrets requires authorization", true},
			{"search_storage_pools", "List storage pools", "Listing storage pools requires authorization", true},
			{"write", "Write host", "Writing the host configuration requires authorization", false},
		},
	},
	Domain: {
		name:  "domain",
		attrs: []Attr{{"domain_name", KindName, required}, {"domain_uuid", KindUUID, required | identity}},
		perms: []permDef{
			{"block_read", "Read domain block", "Reading domain block devices requires authorization", false},
			{"block_write", "Write domain block", "Writing domain block devices requires authorization", false},
			{"checkpoint", "Checkpoint domain", "Checkpointing domain requires authorization", false},
			{"core_dump", "Dump domain", "Dumping domain corefile requires authorization", false},
			{"delete", "Delete domain", "Deleting domain configuration requires authorization", false},
			{"fs_freeze", "Freeze and thaw domain filesystems", "Freezing and thawing domain filesystems requires authorization", false},
			{"fs_trim", "Trim domain filesystems", "Trimming domain filesystems requires authorization", false},
			{"getattr", "Access domain", "Accessing the domain requires authorization", true},
			{"hibernate", "Hibernate domain", "Saving domain state requires authorization", false},
			{"init_control", "Domain init control", "Controlling domain init process requires authorization", false},
			{"inject_nmi", "Inject domain NMI", "Injecting interrupt requires authorization", false},
			{"mem_read", "Read domain memory", "Reading domain memory requires authorization", false},
			{"migrate", "Migrate domain", "Migrating domain requires authorization", false},
			{"open_device", "Open domain device", "Opening domain devices requires authorization", false},
			{"open_graphics", "Open domain graphics", "Opening domain graphics console requires authorization", false},
			{"open_namespace", "Open domain namespace", "Opening domain namespaces requires authorization", false},
			{"pm_control", "Use domain power management", "Using domain power management requires authorization", false},
			{"read", "Read domain", "Reading domain configuration requires authorization", true},
			{"read_secure", "Read secure domain", "Reading secure domain configuration requires authorization", false},
			{"reset", "Reset domain", "Resetting the domain requires authorization", false},
			{"save", "Save domain", "Saving domain configuration requires authorization", false},
			{"screenshot", "Take domain screenshot", "Taking domain screenshots requires authorization", false},
			{"send_input", "Send domain input", "Sending input events to domain requires authorization", false},
			{"send_signal", "Send domain signal", "Sending signals to processes in domain requires authorization", false},
			{"set_password", "Set password of the domain's account", "Setting the domain accounts' password requires authorization", false},
			{"set_time", "Write domain time", "Setting the domain time requires authorization", false},
			{"snapshot", "Snapshot domain", "Snapshotting domain requires authorization", false},
			{"start", "Start domain", "Starting the domain requires authorization", false},
			{"stop", "Stop domain", "Stopping the domain requires authorization", false},
			{"suspend", "Suspend domain", "Suspending domain CPUs requires authorization", false},
			{"write", "Write domain", "Writing domain configuration requires authorization", false},
		},
	},
	Interface: {
		name:  "interface",
		attrs: []Attr{{"interface_name", KindName, required | identity}, {"interface_macaddr", KindMAC, required | identity}},
		perms: []permDef{
			{"delete", "Delete interface", "Deleting interface configuration requires authorization", false},
			{"getattr", "Access interface", "Accessing interface requires authorization", true},
			{"read", "Read interface", "Reading interface configuration requires authorization", true},
			{"save", "Save interface", "Saving interface configuration requires authorization", false},
			{"start", "Start interface", "Starting interface requires authorization", false},
			{"stop", "Stop interface", "Stopping interface requires authorization", false},
			{"write", "Write interface", "Writing interface configuration requires authorization", false},
		},
	},
	Network: {
		name:  "network",
		attrs: []Attr{{"network_name", KindName, required}, {"network_uuid", KindUUID, required | identity}},
		perms: []permDef{
			{"delete", "Delete network", "Deleting network configuration requires authorization", false},
			{"getattr", "Access network", "Accessing network requires authorization", true},
			{"read", "Read network", "Reading network configuration requires authorization", true},
			{"save", "Save network", "Saving network configuration requires authorization", false},
			{"search_ports", "List network ports", "Listing network ports requires authorization", false},
			{"start", "Start network", "Starting network requires authorization", false},
			{"stop", "Stop network", "Stopping network requires authorization", false},
			{"write", "Write network", "Writing network configuration requires authorization", false},
		},
	},
	NetworkPort: {
		name:  "network_port",
		attrs: []Attr{{"network_name", KindName, required}, {"network_uuid", KindUUID, required}, {"port_uuid", KindUUID, required | identity}},
		perms: []permDef{
			{"create", "Create network port", "Creating network port configuration requires authorization", false},
			{"delete", "Delete network port", "Deleting network port configuration requires authorization", false},
			{"getattr", "Access network port", "Accessing network port requires authorization", true},
			{"read", "Read network port", "Reading network port configuration requires authorization", true},
			{"write", "Read network port", "Writing network port configuration requires authorization", false},
		},
	},
	NodeDevice: {
		name:  "node_device",
		attrs: []Attr{{"node_device_name", KindName, required | identity}},
		perms: []permDef{
			{"delete", "Delete node device", "Deleting node device driver requires authorization", false},
			{"detach", "Detach node device", "Detaching node device driver requires authorization", false},
			{"getattr", "Access node device", "Accessing node device requires authorization", true},
			{"read", "Read node device", "Reading node device configuration requires authorization", false},
			{"start", "Start node device", "Starting node device requires authorization", false},
			{"stop", "Stop node device", "Stopping node device requires authorization", false},
			{"write", "Write node device", "Writing node device configuration requires authorization", false},
		},
	},
	NWFilter: {
		name:  "nwfilter",
		attrs: []Attr{{"nwfilter_name", KindName, required}, {"nwfilter_uuid", KindUUID, required | identity}},
		perms: []permDef{
			{"delete", "Delete network filter", "Deleting network filter configuration requires authorization", false},
			{"getattr", "Access network filter", "Accessing network filter requires authorization", true},
			{"read", "Read network filter", "Reading network filter configuration requires authorization", true},
			{"save", "Save network filter", "Saving network filter configuration requires authorization", false},
			{"write", "Write network filter", "Writing network filter configuration requires authorization", false},
		},
	},
	NWFilterBinding: {
		name: "nwfilter_binding",
		attrs: []Attr{
			{"nwfilter_binding_portdev", KindName, required | identity},
			{"nwfilter_binding_linkdev", KindName, 0},
			{"nwfilter_binding_filter", KindName, required},
		},
		perms: []permDef{
			{"create", "Create network filter binding", "Creating network filter binding requires authorization", false},
			{"delete", "Delete network filter binding", "Deleting network filter binding requires authorization", false},
			{"getattr", "Access network filter", "Accessing network filter requires authorization", true},
			{"read", "Read network filter binding", "Reading network filter configuration requires authorization", true},
		},
	},
	Secret: {
		name: "secret",
		// libvirt sends secret_uuid and, depending on the secret's usage
		// type, at most one of the usage keys.
		attrs: []Attr{
			{"secret_uuid", KindUUID, required | identity},
			{"secret_usage_volume", KindText, 0},
			{"secret_usage_ceph", KindText, 0},
			{"secret_usage_target", KindText, 0},
			{"secret_usage_name", KindText, 0},
		},
		perms: []permDef{
			{"delete", "Delete secret", "Deleting secret configuration requires authorization", false},
			{"getattr", "Access secret", "Accessing secret requires authorization", true},
			{"read", "Read secret", "Reading secret configuration requires authorization", true},
			{"read_secure", "Read secure secret", "Reading secure secret configuration requires authorization", false},
			{"save", "Save secret", "Saving secret configuration requires authorization", false},
			{"write", "Write secret", "Writing secret configuration requires authorization", false},
		},
	},
	StoragePool: {
		name:  "storage_pool",
		attrs: []Attr{{"pool_name", KindName, required}, {"pool_uuid", KindUUID, required | identity}},
		perms: []permDef{
			{"delete", "Delete storage pool", "Deleting storage pool configuration requires authorization", false},
			{"format", "Format storage pool", "Formatting storage pool data requires authorization", false},
			{"getattr", "Access storage pool", "Accessing storage pool requires authorization", true},
			{"read", "Read storage pool", "Reading storage pool configuration requires authorization", true},
			{"refresh", "Refresh storage pool", "Refreshing storage pool volumes requires authorization", false},
			{"save", "Save storage pool", "Saving storage pool configuration requires authorization", false},
			{"search_storage_vols", "List storage pool volumes", "Listing storage pool volumes requires authorization", false},
			{"start", "Start storage pool", "Starting storage pool configuration requires authorization", false},
			{"stop", "Stop storage pool", "Stopping storage pool configuration requires authorization", false},
			{"write", "Write storage pool", "Writing storage pool configuration requires authorization", false},
		},
	},
	StorageVol: {
		name: "storage_vol",
		attrs: []Attr{
			{"pool_name", KindName, required},
			{"pool_uuid", KindUUID, required},
			{"vol_name", KindName, required},
			{"vol_key", KindText, required | identity},
		},
		perms: []permDef{
			{"create", "Create storage volume", "Creating storage volume requires authorization", false},
			{"data_read", "Read storage volume data", "Reading storage volume data requires authorization", false},
			{"data_write", "Write storage volume data", "Writing storage volume data requires authorization", false},
			{"delete", "Delete storage volume", "Deleting storage volume requires authorization", false},
			{"format", "Format storage volume", "Formatting storage volume data requires authorization", false},
			{"getattr", "Access storage volume", "Accessing storage volume requires authorization", true},
			{"read", "Read storage volume", "Reading storage volume configuration requires authorization", true},
			{"resize", "Resize storage volume", "Resizing  storage volume requires authorization", false},
		},
	},
}

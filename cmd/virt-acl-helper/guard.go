// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
)

func runGuard(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("guard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: virt-acl-helper guard --listen PATH [--upstream PATH] [--config FILE] [--readonly-listen PATH]\n\n"+
			"Serve libvirt's RPC protocol on --listen (preview): decide every call with the\n"+
			"engine and forward what is allowed to libvirtd's socket, as root, with the\n"+
			"client's identity. Users who can reach libvirtd's own socket bypass the guard.\n"+
			"On --readonly-listen every connection is opened read-only. Started by systemd\n"+
			"(virt-acl-helper-guard.socket), it serves the sockets passed instead, by their\n"+
			"FileDescriptorName= (libvirt, libvirt-ro). SIGHUP reloads the configuration;\n"+
			"SIGTERM stops.\n\n")
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "", "socket path to serve (read-write)")
	roListen := fs.String("readonly-listen", "", "socket path to serve read-only connections on")
	upstream := fs.String("upstream", guard.DefaultUpstream, "libvirtd's read-write socket")
	conf := fs.String("config", "", "configuration file (default "+config.DefaultPath+", which may be absent)")
	qemu := fs.Bool("allow-qemu-commands", false, "decide QEMU monitor and agent commands by their @acl rules (domain:write) instead of refusing them; they are root-equivalent")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "guard: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *listen == "" && *roListen == "" && os.Getenv("LISTEN_FDS") == "" {
		fmt.Fprintf(stderr, "guard: --listen or --readonly-listen is required, unless systemd passes the sockets\n")
		return 2
	}
	err := guard.Run(context.Background(), guard.RunOptions{
		Listen: *listen, ReadOnlyListen: *roListen, Upstream: *upstream,
		ConfigPath: *conf, AllowQEMUCommands: *qemu, Stderr: stderr,
	})
	if err != nil {
		return 1
	}
	return 0
}

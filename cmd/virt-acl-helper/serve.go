// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/daemon"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: virt-acl-helper serve [--listen PATH] [--config FILE]\n\n"+
			"Serve the varlink interface io.github.virt-acl-helper.access. Under systemd socket\n"+
			"activation it serves the one socket passed, or the sockets named %q among\n"+
			"several, and exits after idle_timeout without clients; otherwise it listens on\n"+
			"--listen. SIGHUP reloads the configuration and flushes the cache; SIGTERM stops\n"+
			"after answering calls in flight.\n\n",
			daemon.FDName)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", accessapi.DefaultSocket, "socket path to listen on when not socket-activated")
	conf := fs.String("config", "", "configuration file (default "+config.DefaultPath+", which may be absent)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	err := daemon.Run(context.Background(), daemon.Options{
		ConfigPath: *conf,
		Listen:     *listen,
		Version:    version,
		Stderr:     stderr,
	})
	if err != nil {
		return 1
	}
	return 0
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" || len(args) > 2 {
		fmt.Fprintf(stderr, "usage: virt-acl-helper config check [FILE]\n\n"+
			"Validate a configuration file (default %s) as the daemon would read it,\n"+
			"including its owner and mode. Exit status 0 if valid, 1 if not.\n", config.DefaultPath)
		return 2
	}
	path := config.DefaultPath
	if len(args) == 2 {
		path = args[1]
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "config check: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid\n", path)
	if cfg.AccessControlDisabled() {
		fmt.Fprintf(stdout, "warning: access_drivers = [ \"none\" ] turns access control off\n")
	}
	return 0
}

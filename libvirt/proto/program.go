// SPDX-License-Identifier: Apache-2.0

package proto

import "fmt"

// A Program is one of the RPC programs libvirtd serves on its socket.
type Program uint32

// The programs with procedure tables. (The keepalive program has no
// table; see libvirt/frame.)
const (
	Remote Program = RemoteProgram
	QEMU   Program = QEMUProgram
	LXC    Program = LXCProgram
)

// Programs returns the programs with procedure tables.
func Programs() []Program { return []Program{Remote, QEMU, LXC} }

// String returns libvirt's name of the program.
func (p Program) String() string {
	switch p {
	case Remote:
		return "REMOTE_PROGRAM"
	case QEMU:
		return "QEMU_PROGRAM"
	case LXC:
		return "LXC_PROGRAM"
	}
	return fmt.Sprintf("program %#x", uint32(p))
}

// Version returns the program's protocol version (the header's vers).
func (p Program) Version() uint32 {
	switch p {
	case Remote:
		return RemoteProtocolVersion
	case QEMU:
		return QEMUProtocolVersion
	case LXC:
		return LXCProtocolVersion
	}
	return 0
}

func (p Program) defs() []procDef {
	switch p {
	case Remote:
		return remoteProcs()
	case QEMU:
		return qemuProcs()
	case LXC:
		return lxcProcs()
	}
	return nil
}

// A Stream says whether a procedure opens a stream, and which way data
// flows (from libvirt's client's point of view, as @readstream and
// @writestream say it).
type Stream uint8

// The stream kinds.
const (
	StreamNone  Stream = iota
	StreamRead         // data flows from libvirtd to the client
	StreamWrite        // data flows from the client to libvirtd
)

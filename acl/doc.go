// SPDX-License-Identifier: Apache-2.0

// Package acl describes libvirt's access-control model: the object types a
// libvirt client acts on, the permissions of each, and how each permission
// maps to a polkit action id and polkit details.
//
// The model mirrors libvirt 9.0 (src/access/viraccessperm.h and
// src/access/viraccessdriverpolkit.c). It is the project's single source of
// truth: the polkit action file, the documentation table and the validation
// of every request are all derived from the table in this package.
package acl

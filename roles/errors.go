// SPDX-License-Identifier: Apache-2.0

package roles

import "github.com/virt-acl-helper/virt-acl-helper/internal/tomlfile"

// Error is a problem in a roles file, at a line when one is known.
type Error = tomlfile.Error

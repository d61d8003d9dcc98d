// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"sort"
)

// ServiceInterface is the name of the interface every varlink service
// provides, describing itself.
const ServiceInterface = "org.varlink.service"

// serviceDescription is org.varlink.service's interface definition, as the
// varlink specification (https://varlink.org/Service) defines it.
const serviceDescription = `# The Varlink Service Interface is provided by every varlink service. It
# describes the service and the interfaces it implements.
interface org.varlink.service

# Get a list of all the interfaces a service provides and information
# about the implementation.
method GetInfo() -> (
  vendor: string,
  product: string,
  version: string,
  url: string,
  interfaces: []string
)

# Get the description of an interface that is implemented by this service.
method GetInterfaceDescription(interface: string) -> (description: string)

# The requested interface was not found.
error InterfaceNotFound (interface: string)

# The requested method was not found
error MethodNotFound (method: string)

# The interface defines the requested method, but the service does not
# implement it.
error MethodNotImplemented (method: string)

# One of the passed parameters is invalid.
error InvalidParameter (parameter: string)
`

// Info describes a service for GetInfo.
type Info struct {
	Vendor     string   `json:"vendor"`
	Product    string   `json:"product"`
	Version    string   `json:"version"`
	URL        string   `json:"url"`
	Interfaces []string `json:"interfaces"`
}

// serviceInterface answers org.varlink.service for s.
func (s *Server) serviceInterface() Interface {
	return Interface{
		Name:        ServiceInterface,
		Description: serviceDescription,
		Methods: map[string]MethodFunc{
			"GetInfo":                 s.getInfo,
			"GetInterfaceDescription": s.getInterfaceDescription,
		},
	}
}

func (s *Server) getInfo(_ context.Context, c *Call) (any, error) {
	if err := c.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	info := Info{Vendor: s.opts.Vendor, Product: s.opts.Product, Version: s.opts.Version, URL: s.opts.URL}
	for name := range s.ifaces {
		info.Interfaces = append(info.Interfaces, name)
	}
	sort.Strings(info.Interfaces)
	return info, nil
}

func (s *Server) getInterfaceDescription(_ context.Context, c *Call) (any, error) {
	var in struct {
		Interface string `json:"interface"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	iface, ok := s.ifaces[in.Interface]
	if !ok {
		return nil, &Error{Name: ErrInterfaceNotFound, Parameters: map[string]string{"interface": in.Interface}}
	}
	return map[string]string{"description": iface.Description}, nil
}

package graph

import (
	"fmt"
	"math"
	"strings"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/inventory/invfile"
)

// optID parses an optional global id of kind; nil stays nil.
func optID(field string, gid *string, kind string) (*int64, error) {
	if gid == nil {
		return nil, nil
	}
	id, err := model.ParseID(field, *gid, kind)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// parseIDs parses a list of global ids of kind, naming the element at fault.
func parseIDs(field string, gids []string, kind string) ([]int64, error) {
	out := make([]int64, len(gids))
	for i, g := range gids {
		id, err := model.ParseID(fmt.Sprintf("%s.%d", field, i), g, kind)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// bytesFact turns a Float byte count of the API into an int64, keeping values
// the domain will refuse (negative, fractional, too large) recognisably bad.
func bytesFact(v *float64) *int64 {
	if v == nil {
		return nil
	}
	f := *v
	n := int64(-1)
	if f >= 0 && f == math.Trunc(f) && f < math.MaxInt64/2 {
		n = int64(f)
	}
	return &n
}

func hostSpec(h *model.HostSpecInput) inventory.HostSpec {
	spec := inventory.HostSpec{Hostname: h.Hostname}
	spec.Rack, spec.IP, spec.OS, spec.Kernel, spec.Model = h.Rack, h.IP, h.Os, h.Kernel, h.Model
	if h.CPUCores != nil {
		n := int64(*h.CPUCores)
		spec.CPUCores = &n
	}
	spec.MemoryBytes, spec.DiskBytes, spec.NICBps = bytesFact(h.MemoryBytes), bytesFact(h.DiskBytes), bytesFact(h.NicBitsPerSecond)
	return spec
}

// faultsToUserErrors turns per-entry domain errors into userErrors, in order.
func faultsToUserErrors[E ~[]*fault.Error](errs E) []*model.UserError {
	out := make([]*model.UserError, len(errs))
	for i, fe := range errs {
		ue := &model.UserError{Message: fe.Message, Code: string(fe.Kind)}
		if fe.Field != "" {
			ue.Field = strings.Split(fe.Field, ".")
		}
		out[i] = ue
	}
	return out
}

func inventoryChange(c invfile.Change) *model.InventoryChange {
	out := &model.InventoryChange{Entity: model.InventoryEntity(c.Entity), Key: c.Key, Action: model.InventoryAction(c.Action),
		Changes: make([]*model.FieldChange, len(c.Fields))}
	for i, f := range c.Fields {
		fc := &model.FieldChange{Field: f.Field}
		if c.Action != invfile.Create || f.From != "" {
			from := f.From
			fc.From = &from
		}
		to := f.To
		fc.To = &to
		out.Changes[i] = fc
	}
	return out
}

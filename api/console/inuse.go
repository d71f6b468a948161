package console

import (
	"github.com/google/uuid"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/oauthclients"
)

// flowLink names a flow that blocks a change.
type flowLink struct {
	ID   uuid.UUID
	Name string
}

// inUse is the domain's refusal of a change while flows use a component:
// its sentence and the flows it names (meta.flows on the API).
type inUse struct {
	Detail string
	Flows  []flowLink
	// Linked: the user may read flows, so each is a link.
	Linked bool
}

// inUseOf finds such a refusal in err.
func inUseOf(err error) *inUse {
	ps, ok := fault.List(err)
	if !ok {
		return nil
	}
	for _, p := range ps {
		if p.Kind != fault.Conflict || p.Meta == nil {
			continue
		}
		out := &inUse{Detail: p.Detail}
		switch flows := p.Meta["flows"].(type) {
		case []oauthclients.FlowRef:
			for _, f := range flows {
				out.Flows = append(out.Flows, flowLink{ID: f.ID, Name: f.Name})
			}
		case []components.FlowRef:
			for _, f := range flows {
				out.Flows = append(out.Flows, flowLink{ID: f.ID, Name: f.Name})
			}
		default:
			continue
		}
		return out
	}
	return nil
}

package connections

import (
	"context"
	"sync"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// Provider calls hold a database connection: a refresh calls the provider
// under the connection's row lock, and the code exchange in the
// transaction that spends the state, for up to ProviderTimeout each. The
// provider is whatever token_uri a tenant's component names, so a tenant
// could answer slowly on purpose and, with enough connections refreshed
// or read at once, hold every connection of the pool and stop the service
// for every tenant. So an instance lets at most a few of a tenant's
// provider calls run at once (PerTenantProviderCalls), and at most
// Options.MaxProviderCalls in all (by default half the pool); the others
// wait for a turn before they take a database connection.

// PerTenantProviderCalls is how many calls to providers one tenant's
// connections may have in progress on an instance at once.
const PerTenantProviderCalls = 4

// providerSlots hands out turns to call a provider.
type providerSlots struct {
	all       *semaphore.Weighted
	perTenant int64

	mu      sync.Mutex
	tenants map[uuid.UUID]*tenantSlots

	gauge *prometheus.GaugeVec
}

type tenantSlots struct {
	sem   *semaphore.Weighted
	users int // callers holding or waiting for a turn (the entry goes at 0)
}

func newProviderSlots(total int, reg prometheus.Registerer) *providerSlots {
	total = max(total, 1)
	p := &providerSlots{all: semaphore.NewWeighted(int64(total)), perTenant: int64(min(PerTenantProviderCalls, total)),
		tenants: map[uuid.UUID]*tenantSlots{},
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oauthd_connection_provider_calls",
			Help: "Calls to OAuth providers (token exchanges and refreshes) on this instance: calling (holding a turn and a database connection) or waiting for a turn.",
		}, []string{"state"})}
	p.gauge.WithLabelValues("calling")
	p.gauge.WithLabelValues("waiting")
	if reg != nil {
		reg.MustRegister(p.gauge)
	}
	return p
}

// acquire waits for a turn of the tenant's and one of the instance's, in
// that order (a tenant's waiters hold none of the instance's turns), and
// returns the function that gives them back.
func (p *providerSlots) acquire(ctx context.Context, tenantID uuid.UUID) (func(), error) {
	p.mu.Lock()
	ts := p.tenants[tenantID]
	if ts == nil {
		ts = &tenantSlots{sem: semaphore.NewWeighted(p.perTenant)}
		p.tenants[tenantID] = ts
	}
	ts.users++
	p.mu.Unlock()
	leave := func() {
		p.mu.Lock()
		if ts.users--; ts.users == 0 {
			delete(p.tenants, tenantID)
		}
		p.mu.Unlock()
	}
	waiting := p.gauge.WithLabelValues("waiting")
	waiting.Inc()
	defer waiting.Dec()
	if err := ts.sem.Acquire(ctx, 1); err != nil {
		leave()
		return nil, err
	}
	if err := p.all.Acquire(ctx, 1); err != nil {
		ts.sem.Release(1)
		leave()
		return nil, err
	}
	calling := p.gauge.WithLabelValues("calling")
	calling.Inc()
	return func() {
		calling.Dec()
		p.all.Release(1)
		ts.sem.Release(1)
		leave()
	}, nil
}

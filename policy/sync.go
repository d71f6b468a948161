package policy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/purge"
)

// How an instance keeps its in-memory policy current. Triggers (migration
// 00060) append to policy_changes whenever a member's grants, the roles, or
// the set of tenants change. Sync reads the entries committed since the
// snapshot the policy reflects and applies just those: one member's rows,
// the role definitions, or the grants of tenants that are gone. A NOTIFY
// on policy_changes wakes Sync at once; a poll every pollEvery is the
// fallback that keeps the one-second promise when the listening connection
// is gone (or silently broken), and costs one indexed query.
const (
	// pollEvery bounds how late a change reaches an instance whose
	// listener is down: well under the second the design promises.
	pollEvery = 250 * time.Millisecond
	// changeRetention is how long policy_changes keeps an entry.
	changeRetention = time.Hour
	// staleAfter: an instance that could not read the log for this long
	// may have missed purged entries, so it reads the whole policy again.
	staleAfter = 10 * time.Minute
	// syncTimeout bounds one Sync.
	syncTimeout = 5 * time.Second
)

// Channel is the NOTIFY channel policy_changes' trigger uses.
const Channel = "oauthd_policy"

// adopt takes over a whole policy just loaded into Casbin.
func (e *Enforcer) adopt(l *loaded) {
	e.roles.Store(&l.roles)
	e.held, e.snapshot, e.synced = l.held, l.snapshot, time.Now()
	e.stats.FullLoads++
}

// Sync makes this instance's in-memory policy match what is committed now.
// Services call it after committing a change, so this instance sees it at
// once; the listener and the poll call it for other instances' changes.
func (e *Enforcer) Sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	if time.Since(e.synced) > staleAfter {
		err := e.casbin.LoadPolicy()
		e.forget()
		if err != nil {
			return fmt.Errorf("reload policy: %w", err)
		}
		e.adopt(e.adapter.takeLoaded())
		return nil
	}
	cs, err := e.adapter.changesSince(ctx, e.snapshot)
	if err != nil {
		return err
	}
	// Nothing is marked as applied until all of it is: a failure leaves
	// the snapshot where it was, and applying again is harmless.
	if cs.roles {
		if err := e.reloadRoles(ctx); err != nil {
			return err
		}
	}
	if cs.tenantDeleted {
		if err := e.dropDeletedTenants(ctx); err != nil {
			return err
		}
	}
	if len(cs.members) > 0 {
		if err := e.refreshMembers(ctx, cs.members); err != nil {
			return err
		}
	}
	e.snapshot, e.synced = cs.snapshot, time.Now()
	return nil
}

// refreshMembers reads what each of ms holds now and replaces what this
// instance holds for them, all under Casbin's lock, so no question sees a
// member half updated.
func (e *Enforcer) refreshMembers(ctx context.Context, ms []member) error {
	now, err := e.adapter.memberTargets(ctx, ms)
	if err != nil {
		return err
	}
	lock := e.casbin.GetLock()
	lock.Lock()
	defer lock.Unlock()
	for _, m := range ms {
		if err := e.replaceLocked(m, now[m]); err != nil {
			return err
		}
	}
	e.stats.MembersRefreshed += len(ms)
	return nil
}

// replaceLocked makes member m hold exactly want (sorted targets) in
// Casbin's model, touching only the rows that differ. Casbin's lock and
// syncMu are held.
func (e *Enforcer) replaceLocked(m member, want []string) error {
	have := e.held[m]
	var gone, added, perms [][]string
	for _, t := range have {
		if _, found := slices.BinarySearch(want, t); !found {
			gone = append(gone, groupingRule(m, t))
		}
	}
	for _, t := range want {
		if _, found := slices.BinarySearch(have, t); found {
			continue
		}
		added = append(added, groupingRule(m, t))
		if perm, ok := permOfTarget(t); ok {
			perms = append(perms, permRule(perm))
		}
	}
	// The per-permission policy rows stay once made: there are at most as
	// many as permission names, and they grant nothing by themselves.
	if err := e.applyLocked("p", nil, perms); err != nil {
		return err
	}
	if err := e.applyLocked("g", gone, added); err != nil {
		return err
	}
	if len(want) == 0 {
		delete(e.held, m)
	} else {
		e.held[m] = want
	}
	return nil
}

// applyLocked removes gone and adds added, rows of Casbin's section sec
// ("p" or "g"), in memory only (auto-save is off). Casbin's lock is held.
func (e *Enforcer) applyLocked(sec string, gone, added [][]string) error {
	defer e.forget() // after the change, even a partial one
	c := e.casbin.Enforcer
	remove, add := c.RemovePolicies, c.AddPoliciesEx
	if sec == "g" {
		remove, add = c.RemoveGroupingPolicies, c.AddGroupingPoliciesEx
	}
	if len(gone) > 0 {
		if _, err := remove(gone); err != nil {
			return fmt.Errorf("apply policy change: %w", err)
		}
	}
	if len(added) > 0 {
		if _, err := add(added); err != nil {
			return fmt.Errorf("apply policy change: %w", err)
		}
	}
	return nil
}

// dropDeletedTenants drops the grants of every tenant this instance holds
// grants in that no longer exists. (A tenant's deletion is logged without
// its id, so that no row names it afterwards.)
func (e *Enforcer) dropDeletedTenants(ctx context.Context) error {
	seen := map[uuid.UUID]bool{}
	var tenants []uuid.UUID
	for m := range e.held {
		if !seen[m.tenant] {
			seen[m.tenant] = true
			tenants = append(tenants, m.tenant)
		}
	}
	if len(tenants) == 0 {
		return nil
	}
	exists, err := e.adapter.existingTenants(ctx, tenants)
	if err != nil {
		return err
	}
	lock := e.casbin.GetLock()
	lock.Lock()
	defer lock.Unlock()
	dropped := map[uuid.UUID]bool{}
	for m := range e.held {
		if exists[m.tenant] {
			continue
		}
		if err := e.replaceLocked(m, nil); err != nil {
			return err
		}
		dropped[m.tenant] = true
	}
	e.stats.TenantsDropped += len(dropped)
	return nil
}

// reloadRoles reads the role definitions again and applies the difference.
func (e *Enforcer) reloadRoles(ctx context.Context) error {
	roles, err := readRoles(e.db.Conn(ctx))
	if err != nil {
		return err
	}
	rules := func(roles map[string][]string) map[string][]string {
		out := map[string][]string{}
		for role, perms := range roles {
			for _, p := range perms {
				r := roleRule(role, p)
				out[role+"\x00"+p] = r
			}
		}
		return out
	}
	have, want := rules(*e.roles.Load()), rules(roles)
	var gone, added [][]string
	for k, r := range have {
		if _, ok := want[k]; !ok {
			gone = append(gone, r)
		}
	}
	for k, r := range want {
		if _, ok := have[k]; !ok {
			added = append(added, r)
		}
	}
	lock := e.casbin.GetLock()
	lock.Lock()
	defer lock.Unlock()
	if err := e.applyLocked("p", gone, added); err != nil {
		return err
	}
	e.roles.Store(&roles)
	e.stats.RoleReloads++
	return nil
}

// Handlers sync the policy when any instance changes it (policy_changes'
// trigger sends NOTIFY oauthd_policy); give them to changes.Listen, which
// also calls them after each (re)connection.
func (e *Enforcer) Handlers(log *slog.Logger) changes.Handlers {
	return changes.Handlers{Channel: func() {
		if err := e.Sync(); err != nil {
			log.Warn("policy sync failed", "err", err)
		}
	}}
}

// Poll syncs every pollEvery until ctx ends: the fallback for the
// listener. A failure is logged once, and its end once.
func (e *Enforcer) Poll(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.Sync()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("policy sync failing; retrying every poll", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("policy sync recovered")
			failing = false
		}
	}
}

// Watch keeps this instance's policy current on its own: notifications and
// the poll. (oauthd itself listens to all its channels on one connection;
// see app.Maintain.) It returns when ctx ends.
func (e *Enforcer) Watch(ctx context.Context, databaseURL string, log *slog.Logger) {
	go e.Poll(ctx, log)
	changes.Listen(ctx, databaseURL, log, e.Handlers(log))
}

// PurgeTarget is the change log's housekeeping: entries older than
// changeRetention go (an instance that has not read the log for staleAfter
// reads the whole policy again instead).
func PurgeTarget() purge.Target {
	return purge.Target{Name: "policy_changes", Table: "policy_changes", Key: "id", Column: "created_at",
		After: changeRetention, Every: 10 * time.Minute}
}

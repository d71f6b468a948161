package tenants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/policy"
)

// Transactor runs a function in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Grantor stores members' roles and permissions (the policy enforcer).
type Grantor interface {
	roleChecker
	SetGrants(ctx context.Context, tenantID, userID uuid.UUID, g policy.Grants) error
	ClearGrants(ctx context.Context, tenantID, userID uuid.UUID) error
	GrantsOf(ctx context.Context, tenantID uuid.UUID, userIDs []uuid.UUID) (map[uuid.UUID]policy.Grants, error)
	Exceeding(g policy.Grants, may policy.Allowance, why string) (fault.Problems, error)
	Sync() error
}

// Recorder writes audit events in the caller's transaction.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// Service applies the rules for identity and membership.
type Service struct {
	tx     Transactor
	store  *Store
	grants Grantor
	audit  Recorder
	opts   Options
	keys   *keyCache
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, grants Grantor, audit Recorder, o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.PasswordCost == 0 {
		o.PasswordCost = DefaultPasswordCost
	}
	if o.Changes != nil {
		tx = changes.BumpAfterCommit(tx, o.Changes)
	}
	return &Service{tx: tx, store: store, grants: grants, audit: audit, opts: o, keys: newKeyCache(o.Changes)}
}

// Options are the deployment's choices for the service.
type Options struct {
	// PasswordCost is bcrypt's work factor for passwords; 0 is
	// DefaultPasswordCost (test environments use bcrypt.MinCost).
	PasswordCost int
	// Log receives what the service must report but not answer (a policy
	// reload that failed after a change committed); nil is slog.Default.
	Log *slog.Logger
	// Changes, when set, is bumped after every transaction the service
	// commits (and on other instances' changes, by NOTIFY), and lets this
	// instance cache basic-auth callers for a moment (see keyCacheTTL).
	// Nil disables the cache.
	Changes *changes.Feed
}

// synced brings this instance's permission policy up to date after a
// change has committed. The change stands whatever happens here: a reload
// that fails (the database went away just after the commit) is made good by
// the periodic reload and the change notifications, so it is logged and
// never reported to the caller as if the saved change had failed.
func (s *Service) synced(ctx context.Context) {
	if err := s.grants.Sync(); err != nil {
		s.opts.Log.WarnContext(ctx, "policy reload after a committed change failed; the periodic reload will apply it", "err", err)
	}
}

// apiKeyTouchInterval limits last_used_at writes to one a minute per key.
const apiKeyTouchInterval = time.Minute

// CreateUser adds a user.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	in.Email = NormalizeEmail(in.Email)
	var ps fault.Problems
	validateEmail(&ps, in.Email)
	if in.Password != nil {
		validatePassword(&ps, *in.Password)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	key := emailKey(in.Email)
	u := &User{ID: uuid.New(), Email: in.Email, EmailKey: &key, Superuser: in.Superuser}
	if in.Password != nil {
		h, err := s.hashPassword(*in.Password)
		if err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
		u.PasswordHash = &h
	}
	if err := s.store.createUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// User finds a user by id.
func (s *Service) User(ctx context.Context, id uuid.UUID) (*User, error) {
	return s.store.user(ctx, id)
}

// UserByEmail finds a user by email, whatever its case (emailKey). Text no email can
// be (invalid UTF-8, a NUL that Postgres refuses in text, or too long)
// names nobody, and is not sent to the database.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	if !utf8.ValidString(email) || strings.ContainsRune(email, 0) || len(email) > maxEmail {
		return nil, ErrUserNotFound
	}
	return s.store.userByEmail(ctx, NormalizeEmail(email))
}

// Users lists all users.
func (s *Service) Users(ctx context.Context, p listing.Params) (listing.Page[User], error) {
	return s.store.users(ctx, p)
}

// mayAct reports whether by may act for the user id with all of that
// user's rights: the user themself, not through a token, or a superuser
// (nil, the admin commands, too).
func mayAct(by *Acting, id uuid.UUID) bool {
	return by == nil || (!by.Scoped && (by.Superuser || by.UserID == id))
}

// UpdateUser changes a user: their own email and password (or a
// superuser's doing), and only a superuser makes or unmakes superusers.
func (s *Service) UpdateUser(ctx context.Context, by *Acting, id uuid.UUID, patch UserPatch) (*User, error) {
	if !mayAct(by, id) {
		return nil, ErrUserNotFound
	}
	if patch.Superuser != nil && by != nil && !by.Superuser {
		return nil, ErrSuperuserRequired
	}
	var ps fault.Problems
	if patch.Email != nil {
		e := NormalizeEmail(*patch.Email)
		patch.Email = &e
		validateEmail(&ps, *patch.Email)
	}
	if patch.Password != nil {
		validatePassword(&ps, *patch.Password)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	var u *User
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.store.user(ctx, id); err != nil {
			return err
		}
		if patch.Email != nil {
			key := emailKey(*patch.Email)
			u.Email, u.EmailKey = *patch.Email, &key
		}
		if patch.Superuser != nil {
			u.Superuser = *patch.Superuser
		}
		if patch.Password != nil {
			h, err := s.hashPassword(*patch.Password)
			if err != nil {
				return err
			}
			u.PasswordHash = &h
			// A new password ends every browser session of the user, on
			// every instance (each visit reads its session row).
			if err := s.endSessionsOf(ctx, u.ID); err != nil {
				return err
			}
		}
		u.UpdatedAt = time.Now().UTC()
		return s.store.saveUser(ctx, u)
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// DeleteUser removes a user, their keys and memberships (and with them
// their grants).
func (s *Service) DeleteUser(ctx context.Context, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error { return s.store.deleteUser(ctx, id) })
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.synced(ctx)
	return nil
}

// CreateAPIKey issues a new key for a user and returns it with the plain
// key, which is never available again. A key carries all of the user's
// rights, so only the user themself (not through a token) or a superuser
// may mint one: nobody grants a right they lack.
func (s *Service) CreateAPIKey(ctx context.Context, by *Acting, userID uuid.UUID, name string) (*APIKey, string, error) {
	if !mayAct(by, userID) {
		return nil, "", ErrAPIKeyExceedsOwn
	}
	var ps fault.Problems
	ValidateName(&ps, "name", name)
	if err := ps.Err(); err != nil {
		return nil, "", err
	}
	if _, err := s.store.user(ctx, userID); err != nil {
		return nil, "", err
	}
	plain := credential.Random(apiKeyPrefix, 32)
	k := &APIKey{ID: uuid.New(), UserID: userID, Name: name, Digest: []byte(credential.DigestOf(plain)), Hint: credential.Hint(plain)}
	if err := s.store.createAPIKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	return k, plain, nil
}

// APIKeys lists a user's keys (digests only).
func (s *Service) APIKeys(ctx context.Context, userID uuid.UUID, p listing.Params) (listing.Page[APIKey], error) {
	if _, err := s.store.user(ctx, userID); err != nil {
		return listing.Page[APIKey]{}, err
	}
	return s.store.apiKeys(ctx, userID, p)
}

// DeleteAPIKey revokes one key: at once on this instance (the committed
// transaction empties its cache of callers), within the second on others.
func (s *Service) DeleteAPIKey(ctx context.Context, userID, keyID uuid.UUID) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error { return s.store.deleteAPIKey(ctx, userID, keyID) })
}

// EnsureSuperuser makes sure a superuser with this email exists and that key
// is one of their API keys. Running it again changes nothing.
func (s *Service) EnsureSuperuser(ctx context.Context, email, key string) (*User, error) {
	if !ValidBootstrapKey(key) {
		return nil, fault.New(fault.Invalid, "invalid_bootstrap_key", "the bootstrap API key must be 32 to 128 characters of A-Z a-z 0-9 _ -")
	}
	var u *User
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		u, err = s.store.userByEmail(ctx, NormalizeEmail(email))
		switch {
		case errors.Is(err, ErrUserNotFound):
			if u, err = s.CreateUser(ctx, NewUser{Email: email, Superuser: true}); err != nil {
				return err
			}
		case err != nil:
			return err
		case !u.Superuser:
			u.Superuser = true
			if err := s.store.saveUser(ctx, u); err != nil {
				return err
			}
		}
		has, err := s.store.apiKeyByDigest(ctx, u.ID, credential.DigestOf(key))
		if err != nil || has {
			return err
		}
		return s.store.createAPIKey(ctx, &APIKey{ID: uuid.New(), UserID: u.ID, Name: "bootstrap", Digest: []byte(credential.DigestOf(key)), Hint: credential.Hint(key)})
	})
	if err != nil {
		return nil, fmt.Errorf("ensure superuser: %w", err)
	}
	return u, nil
}

// CreateTenant adds a tenant.
func (s *Service) CreateTenant(ctx context.Context, name string) (*Tenant, error) {
	var ps fault.Problems
	ValidateName(&ps, "name", name)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	t := &Tenant{ID: uuid.New(), Name: name}
	if err := s.store.createTenant(ctx, t); err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// Tenant finds a tenant by id.
func (s *Service) Tenant(ctx context.Context, id uuid.UUID) (*Tenant, error) {
	return s.store.tenant(ctx, id)
}

// TenantByName finds a tenant by name, whatever its case.
func (s *Service) TenantByName(ctx context.Context, name string) (*Tenant, error) {
	return s.store.tenantByName(ctx, name)
}

// Tenants lists every tenant, or those memberOf belongs to when it is set.
func (s *Service) Tenants(ctx context.Context, memberOf *uuid.UUID, p listing.Params) (listing.Page[Tenant], error) {
	return s.store.tenants(ctx, memberOf, p)
}

// RenameTenant changes a tenant's name.
func (s *Service) RenameTenant(ctx context.Context, id uuid.UUID, name string) (*Tenant, error) {
	var ps fault.Problems
	ValidateName(&ps, "name", name)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	var t *Tenant
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.store.tenant(ctx, id); err != nil {
			return err
		}
		t.Name, t.UpdatedAt = name, time.Now().UTC()
		return s.store.saveTenant(ctx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("rename tenant: %w", err)
	}
	return t, nil
}

// DeleteTenant removes a tenant and everything it owns.
func (s *Service) DeleteTenant(ctx context.Context, id uuid.UUID) error {
	if err := s.tx.InTx(ctx, func(ctx context.Context) error { return s.store.deleteTenant(ctx, id) }); err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	s.synced(ctx)
	return nil
}

// IsMember reports whether the user belongs to the tenant.
func (s *Service) IsMember(ctx context.Context, tenantID, userID uuid.UUID) (bool, error) {
	return s.store.isMember(ctx, tenantID, userID)
}

func (s *Service) withGrants(ctx context.Context, tenantID uuid.UUID, ms []Membership) error {
	ids := make([]uuid.UUID, len(ms))
	for i := range ms {
		ids[i] = ms[i].UserID
	}
	grants, err := s.grants.GrantsOf(ctx, tenantID, ids)
	if err != nil {
		return err
	}
	for i := range ms {
		ms[i].Grants = grants[ms[i].UserID]
	}
	return nil
}

// AddMember makes a user a member of a tenant with the given grants, none
// of which may exceed what the caller holds (may; nil for no limit).
func (s *Service) AddMember(ctx context.Context, tenantID, userID uuid.UUID, g policy.Grants, may policy.Allowance) (*Membership, error) {
	if err := s.within(g, may, ""); err != nil {
		return nil, err
	}
	var ps fault.Problems
	validateGrants(&ps, s.grants, g)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	var m *Membership
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.user(ctx, userID); err != nil {
			if !errors.Is(err, ErrUserNotFound) {
				return err // the database, not the request, is at fault
			}
			return &fault.Problem{Kind: fault.NotFound, Code: "user_not_found", Detail: "no user with this id", Relationship: "user"}
		}
		if err := s.store.createMembership(ctx, &Membership{TenantID: tenantID, UserID: userID}); err != nil {
			return err
		}
		if err := s.grants.SetGrants(ctx, tenantID, userID, g); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tenantID, "member.create", "member", userID.String(),
			map[string]any{"roles": g.Roles, "permissions": g.Permissions}); err != nil {
			return err
		}
		var err error
		m, err = s.member(ctx, tenantID, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add member: %w", err)
	}
	s.synced(ctx)
	return m, nil
}

func (s *Service) member(ctx context.Context, tenantID, userID uuid.UUID) (*Membership, error) {
	m, err := s.store.membership(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	ms := []Membership{*m}
	if err := s.withGrants(ctx, tenantID, ms); err != nil {
		return nil, err
	}
	return &ms[0], nil
}

// Member returns one member with their grants.
func (s *Service) Member(ctx context.Context, tenantID, userID uuid.UUID) (*Membership, error) {
	return s.member(ctx, tenantID, userID)
}

// Members lists a tenant's members with their grants.
func (s *Service) Members(ctx context.Context, tenantID uuid.UUID, p listing.Params) (listing.Page[Membership], error) {
	page, err := s.store.memberships(ctx, tenantID, p)
	if err != nil {
		return page, fmt.Errorf("list members: %w", err)
	}
	return page, s.withGrants(ctx, tenantID, page.Items)
}

// takeAway explains a refusal to replace or remove someone's grants.
const takeAway = "the member holds it and it is not yours to take away"

// within refuses grants beyond what the caller holds.
func (s *Service) within(g policy.Grants, may policy.Allowance, why string) error {
	ps, err := s.grants.Exceeding(g, may, why)
	if err != nil {
		return err
	}
	return ps.Err()
}

// UpdateMember replaces the grants that patch sets. The caller (may) can
// neither hand out nor take away grants beyond their own; the member's row
// is locked, so a concurrent change cannot slip between check and write.
func (s *Service) UpdateMember(ctx context.Context, tenantID, userID uuid.UUID, patch MemberPatch, may policy.Allowance) (*Membership, error) {
	var m *Membership
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockMembership(ctx, tenantID, userID); err != nil {
			return err
		}
		cur, err := s.member(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		var given, taken policy.Grants
		g := cur.Grants
		if patch.Roles != nil {
			g.Roles, given.Roles, taken.Roles = *patch.Roles, *patch.Roles, cur.Grants.Roles
		}
		if patch.Permissions != nil {
			g.Permissions, given.Permissions, taken.Permissions = *patch.Permissions, *patch.Permissions, cur.Grants.Permissions
		}
		if err := s.within(given, may, ""); err != nil {
			return err
		}
		if err := s.within(taken, may, takeAway); err != nil {
			return err
		}
		var ps fault.Problems
		validateGrants(&ps, s.grants, g)
		if err := ps.Err(); err != nil {
			return err
		}
		if err := s.grants.SetGrants(ctx, tenantID, userID, g); err != nil {
			return err
		}
		if err := s.store.touchMembership(ctx, tenantID, userID); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tenantID, "member.update", "member", userID.String(),
			map[string]any{"roles": g.Roles, "permissions": g.Permissions}); err != nil {
			return err
		}
		m, err = s.member(ctx, tenantID, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	s.synced(ctx)
	return m, nil
}

// RemoveMember ends a membership and its grants, unless they exceed what
// the caller (may) holds.
func (s *Service) RemoveMember(ctx context.Context, tenantID, userID uuid.UUID, may policy.Allowance) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockMembership(ctx, tenantID, userID); err != nil {
			return err
		}
		cur, err := s.member(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		ps, err := s.grants.Exceeding(cur.Grants, may, takeAway)
		if err != nil {
			return err
		}
		for _, p := range ps {
			p.Attribute = "" // a DELETE has no attributes to point at
		}
		if err := ps.Err(); err != nil {
			return err
		}
		if err := s.store.deleteMembership(ctx, tenantID, userID); err != nil {
			return err
		}
		if err := s.grants.ClearGrants(ctx, tenantID, userID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "member.delete", "member", userID.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	s.synced(ctx)
	return nil
}

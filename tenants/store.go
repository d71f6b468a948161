package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
)

// Store keeps users, keys, tenants and memberships in Postgres. It turns
// driver errors into this package's problems.
type Store struct {
	db *database.DB
}

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

func notFound(err error, p error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p
	}
	return err
}

// --- users ---

func (s *Store) createUser(ctx context.Context, u *User) error {
	err := s.db.Conn(ctx).Create(u).Error
	if database.IsUniqueViolation(err, "users_email_key") {
		return ErrEmailTaken
	}
	return err
}

func (s *Store) user(ctx context.Context, id uuid.UUID) (*User, error) {
	var u User
	err := s.db.Conn(ctx).Where("id = ?", id).Take(&u).Error
	return &u, notFound(err, ErrUserNotFound)
}

func (s *Store) userByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.Conn(ctx).Where("email_key = ?", emailKey(email)).Take(&u).Error
	return &u, notFound(err, ErrUserNotFound)
}

// UserSorts are the fields users sort by.
var UserSorts = listing.Sorts{"email": "lower(email)", "created_at": "created_at", "updated_at": "updated_at"}

func (s *Store) users(ctx context.Context, p listing.Params) (listing.Page[User], error) {
	var out listing.Page[User]
	q := s.db.Conn(ctx).Model(&User{})
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: UserSorts, Default: "created_at", Tiebreak: "id"}, &out)
}

func (s *Store) saveUser(ctx context.Context, u *User) error {
	err := s.db.Conn(ctx).Save(u).Error
	if database.IsUniqueViolation(err, "users_email_key") {
		return ErrEmailTaken
	}
	return err
}

func (s *Store) deleteUser(ctx context.Context, id uuid.UUID) error {
	res := s.db.Conn(ctx).Where("id = ?", id).Delete(&User{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrUserNotFound
	}
	return res.Error
}

// --- API keys ---

func (s *Store) createAPIKey(ctx context.Context, k *APIKey) error {
	return s.db.Conn(ctx).Create(k).Error
}

// keyAuth finds the owner of a key and whether they are a member of
// tenantID (uuid.Nil: of none), in one query. It is the whole
// authentication query, so an unknown email and a wrong key cost the same.
func (s *Store) keyAuth(ctx context.Context, digest credential.Digest, tenantID uuid.UUID) (keyAuth, error) {
	var row struct {
		User
		KeyID         uuid.UUID
		KeyLastUsedAt *time.Time
		Member        bool
	}
	err := s.db.Conn(ctx).Raw(`SELECT u.*, k.id AS key_id, k.last_used_at AS key_last_used_at,
			EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = ? AND m.user_id = u.id) AS member
		FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.digest = ?`, tenantID, digest).Take(&row).Error
	if err != nil {
		return keyAuth{}, notFound(err, ErrUnauthenticated)
	}
	return keyAuth{user: row.User, keyID: row.KeyID, keyUsedAt: row.KeyLastUsedAt, member: row.Member}, nil
}

func (s *Store) touchAPIKey(ctx context.Context, id uuid.UUID) error {
	return s.db.Conn(ctx).Model(&APIKey{}).Where("id = ?", id).Update("last_used_at", time.Now().UTC()).Error
}

// APIKeySorts are the fields a user's API keys sort by.
// A key never used sorts as the oldest use.
var APIKeySorts = listing.Sorts{"name": "name", "created_at": "created_at", "last_used_at": "coalesce(last_used_at, '-infinity')"}

func (s *Store) apiKeys(ctx context.Context, userID uuid.UUID, p listing.Params) (listing.Page[APIKey], error) {
	var out listing.Page[APIKey]
	q := s.db.Conn(ctx).Model(&APIKey{}).Where("user_id = ?", userID)
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: APIKeySorts, Default: "created_at", Tiebreak: "id"}, &out)
}

func (s *Store) deleteAPIKey(ctx context.Context, userID, id uuid.UUID) error {
	res := s.db.Conn(ctx).Where("user_id = ? AND id = ?", userID, id).Delete(&APIKey{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrAPIKeyNotFound
	}
	return res.Error
}

func (s *Store) apiKeyByDigest(ctx context.Context, userID uuid.UUID, digest []byte) (bool, error) {
	var n int64
	err := s.db.Conn(ctx).Model(&APIKey{}).Where("user_id = ? AND digest = ?", userID, digest).Count(&n).Error
	return n > 0, err
}

// --- tenants ---

func (s *Store) createTenant(ctx context.Context, t *Tenant) error {
	err := s.db.Conn(ctx).Create(t).Error
	if database.IsUniqueViolation(err, "tenants_name_key") {
		return ErrTenantNameTaken
	}
	return err
}

func (s *Store) tenant(ctx context.Context, id uuid.UUID) (*Tenant, error) {
	var t Tenant
	err := s.db.Conn(ctx).Where("id = ?", id).Take(&t).Error
	return &t, notFound(err, ErrTenantNotFound)
}

func (s *Store) tenantByName(ctx context.Context, name string) (*Tenant, error) {
	var t Tenant
	err := s.db.Conn(ctx).Where("lower(name) = lower(?)", name).Take(&t).Error
	return &t, notFound(err, ErrTenantNotFound)
}

// TenantSorts are the fields tenants sort by.
var TenantSorts = listing.Sorts{"name": "lower(name)", "created_at": "created_at", "updated_at": "updated_at"}

// tenants lists all tenants, or only those memberOf belongs to.
func (s *Store) tenants(ctx context.Context, memberOf *uuid.UUID, p listing.Params) (listing.Page[Tenant], error) {
	var out listing.Page[Tenant]
	q := s.db.Conn(ctx).Model(&Tenant{})
	if memberOf != nil {
		q = q.Where("id IN (SELECT tenant_id FROM memberships WHERE user_id = ?)", *memberOf)
	}
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: TenantSorts, Default: "created_at", Tiebreak: "id"}, &out)
}

func (s *Store) saveTenant(ctx context.Context, t *Tenant) error {
	err := s.db.Conn(ctx).Save(t).Error
	if database.IsUniqueViolation(err, "tenants_name_key") {
		return ErrTenantNameTaken
	}
	return err
}

func (s *Store) deleteTenant(ctx context.Context, id uuid.UUID) error {
	db := s.db.Conn(ctx)
	// The references to components do not cascade: while another tenant's
	// flow or OAuth client names one of this tenant's global components,
	// the database refuses the delete (ErrTenantInUse below). The tenant's
	// own uses go first, explicitly, because Postgres may check those
	// references before its cascades reach them.
	for _, q := range []string{
		"DELETE FROM oauth_clients WHERE tenant_id = ?",
		"DELETE FROM flows WHERE tenant_id = ?",
	} {
		if err := db.Exec(q, id).Error; err != nil {
			return err
		}
	}
	res := db.Where("id = ?", id).Delete(&Tenant{})
	if database.IsForeignKeyViolation(res.Error) {
		return ErrTenantInUse
	}
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrTenantNotFound
	}
	return res.Error
}

// --- memberships ---

const memberSelect = "memberships.*, users.email AS email"

func (s *Store) isMember(ctx context.Context, tenantID, userID uuid.UUID) (bool, error) {
	var n int64
	err := s.db.Conn(ctx).Raw("SELECT count(*) FROM memberships WHERE tenant_id = ? AND user_id = ?", tenantID, userID).Scan(&n).Error
	return n > 0, err
}

// lockMembership locks a membership row until the transaction ends.
func (s *Store) lockMembership(ctx context.Context, tenantID, userID uuid.UUID) error {
	var n int64
	err := s.db.Conn(ctx).Raw("SELECT count(*) FROM (SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ? FOR UPDATE) locked",
		tenantID, userID).Scan(&n).Error
	if err == nil && n == 0 {
		return ErrMemberNotFound
	}
	return err
}

func (s *Store) createMembership(ctx context.Context, m *Membership) error {
	err := s.db.Conn(ctx).Omit("Email").Create(m).Error
	switch {
	case database.IsUniqueViolation(err, "memberships_pkey"):
		return ErrAlreadyMember
	case database.IsForeignKeyViolation(err):
		return fmt.Errorf("%w", ErrUserNotFound)
	}
	return err
}

func (s *Store) membership(ctx context.Context, tenantID, userID uuid.UUID) (*Membership, error) {
	var m Membership
	err := s.db.Conn(ctx).Table("memberships").Select(memberSelect).
		Joins("JOIN users ON users.id = memberships.user_id").
		Where("memberships.tenant_id = ? AND memberships.user_id = ?", tenantID, userID).Take(&m).Error
	return &m, notFound(err, ErrMemberNotFound)
}

// MemberSorts are the fields a tenant's members sort by.
var MemberSorts = listing.Sorts{"email": "lower(users.email)", "created_at": "memberships.created_at", "updated_at": "memberships.updated_at"}

func (s *Store) memberships(ctx context.Context, tenantID uuid.UUID, p listing.Params) (listing.Page[Membership], error) {
	var out listing.Page[Membership]
	q := s.db.Conn(ctx).Table("memberships").Where("memberships.tenant_id = ?", tenantID)
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	q = q.Select(memberSelect).Joins("JOIN users ON users.id = memberships.user_id")
	return out, listing.Find(q, p, listing.Order{Sorts: MemberSorts, Default: "memberships.created_at", Tiebreak: "memberships.user_id"}, &out)
}

func (s *Store) touchMembership(ctx context.Context, tenantID, userID uuid.UUID) error {
	return s.db.Conn(ctx).Exec("UPDATE memberships SET updated_at = now() WHERE tenant_id = ? AND user_id = ?", tenantID, userID).Error
}

func (s *Store) deleteMembership(ctx context.Context, tenantID, userID uuid.UUID) error {
	res := s.db.Conn(ctx).Where("tenant_id = ? AND user_id = ?", tenantID, userID).Delete(&Membership{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrMemberNotFound
	}
	return res.Error
}

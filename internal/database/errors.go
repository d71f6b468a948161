package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// ErrUnavailable marks an error caused by the database being unreachable.
var ErrUnavailable = errors.New("database unavailable")

// IsUnavailable reports whether err means the database could not be reached
// or went away (as opposed to rejecting the statement).
func IsUnavailable(err error) bool {
	// A caller that went away is not an outage, even when it interrupted
	// a connection attempt.
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is connection exceptions; 57P0x is the server shutting
		// down; 53300 is too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return strings.Contains(err.Error(), "failed to connect") || strings.Contains(err.Error(), "conn closed")
}

// IsContention reports that Postgres aborted the transaction to break a
// deadlock or a serialization conflict; running it again may succeed.
func IsContention(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40P01" || pgErr.Code == "40001"
	}
	return false
}

// IsUniqueViolation reports a unique-constraint violation, optionally of the
// named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
	}
	return constraint == "" && errors.Is(err, gorm.ErrDuplicatedKey)
}

// IsForeignKeyViolation reports a foreign-key violation.
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return errors.Is(err, gorm.ErrForeignKeyViolated)
}

// IsCanceled reports that the caller went away (client disconnect or shutdown).
func IsCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}

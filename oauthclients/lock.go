package oauthclients

import "gorm.io/gorm/clause"

// lockRow takes the client's row lock for update. A flow that includes the
// client's component holds a share lock on the same row until it commits,
// so deleting or moving the client and adding the flow are serialised.
var lockRow = clause.Locking{Strength: clause.LockingStrengthUpdate, Table: clause.Table{Name: "oauth_clients"}}

package console

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "console": the tables
// console_users, console_sessions, console_audit and
// console_login_attempts, one folder per dialect (see
// [store.RegisterMigrations]).
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("console", migrationFS, "migrations") }

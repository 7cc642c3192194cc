package store

import "context"

// Size returns the bytes the store's database takes: SQLite's pages
// (page_count × page_size, the write-ahead log aside), PostgreSQL's
// pg_database_size of the current database. The operator console shows
// it on its dashboard.
func (s *Store) Size(ctx context.Context) (int64, error) {
	q := `SELECT pg_database_size(current_database())`
	if s.SingleProcess() {
		q = `SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s`
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, Classify("reading the store's size", err)
	}
	return n, nil
}

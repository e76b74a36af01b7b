package store

import "gorm.io/gorm"

// OnStreamedRead calls fn for every statement, outside a transaction, whose
// rows are read after the retrying callback returned (GORM's Row/Rows and
// Scan): a connection lost while those rows are read would not be retried.
func OnStreamedRead(s *Store, fn func(sql string)) {
	for _, db := range []*gorm.DB{s.db, s.txdb} {
		_ = db.Callback().Row().After("gorm:row").Register("test:streamed-read", func(tx *gorm.DB) {
			if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); !inTx {
				fn(tx.Statement.SQL.String())
			}
		})
	}
}

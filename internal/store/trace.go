package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// Trace records every statement as a client span of the caller's trace,
// named by its operation and table, with the statement's text but never
// its arguments (they carry user ids and amounts). A record not found is
// an answer, not a failed span.
func (s *Store) Trace(tp trace.TracerProvider) error {
	dbs := []*gorm.DB{s.db}
	if s.txdb != s.db {
		dbs = append(dbs, s.txdb)
	}
	tracer := tp.Tracer("github.com/refhub/referral-service/internal/store")
	system := semconv.DBSystemNamePostgreSQL
	if s.dialect == SQLite {
		system = semconv.DBSystemNameSQLite
	}
	for _, db := range dbs {
		cb := db.Callback()
		for _, p := range []struct {
			name string
			proc interface {
				Register(string, func(*gorm.DB)) error
			}
			before bool
		}{
			{"gorm:create", cb.Create().Before("gorm:create"), true}, {"gorm:create", cb.Create().After("gorm:create"), false},
			{"gorm:query", cb.Query().Before("gorm:query"), true}, {"gorm:query", cb.Query().After("gorm:query"), false},
			{"gorm:update", cb.Update().Before("gorm:update"), true}, {"gorm:update", cb.Update().After("gorm:update"), false},
			{"gorm:delete", cb.Delete().Before("gorm:delete"), true}, {"gorm:delete", cb.Delete().After("gorm:delete"), false},
			{"gorm:row", cb.Row().Before("gorm:row"), true}, {"gorm:row", cb.Row().After("gorm:row"), false},
			{"gorm:raw", cb.Raw().Before("gorm:raw"), true}, {"gorm:raw", cb.Raw().After("gorm:raw"), false},
		} {
			fn, name := endStatementSpan, "trace:after:"+p.name
			if p.before {
				fn, name = startStatementSpan(tracer, system), "trace:before:"+p.name
			}
			if err := p.proc.Register(name, fn); err != nil {
				return fmt.Errorf("trace database statements: %w", err)
			}
		}
	}
	return nil
}

// statementSpan is what a statement's before-callback leaves its after-callback.
type statementSpan struct {
	span   trace.Span
	parent context.Context
}

// statementSpanKey keys it in the statement's settings; taken, not read,
// so a later statement never ends a span twice or restores a stale context.
const statementSpanKey = "refhub:trace"

func startStatementSpan(tracer trace.Tracer, system attribute.KeyValue) func(*gorm.DB) {
	return func(tx *gorm.DB) {
		parent := tx.Statement.Context
		if parent == nil || !trace.SpanFromContext(parent).IsRecording() {
			return // statements outside a traced request or job start no trace of their own
		}
		ctx, span := tracer.Start(parent, "db", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(system))
		tx.Statement.Context = ctx
		tx.Statement.Settings.Store(statementSpanKey, statementSpan{span: span, parent: parent})
	}
}

func endStatementSpan(tx *gorm.DB) {
	v, ok := tx.Statement.Settings.LoadAndDelete(statementSpanKey)
	if !ok {
		return
	}
	st, ok := v.(statementSpan)
	if !ok {
		return
	}
	tx.Statement.Context = st.parent
	sql := tx.Statement.SQL.String()
	op := strings.ToUpper(strings.SplitN(strings.TrimSpace(sql), " ", 2)[0])
	name := op
	if tx.Statement.Table != "" {
		name += " " + tx.Statement.Table
	}
	if name != "" {
		st.span.SetName(name)
	}
	st.span.SetAttributes(semconv.DBQueryText(sql), semconv.DBOperationName(op))
	if tx.Statement.Table != "" {
		st.span.SetAttributes(semconv.DBCollectionName(tx.Statement.Table))
	}
	if err := tx.Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		st.span.RecordError(err)
		st.span.SetStatus(codes.Error, err.Error())
	}
	st.span.End()
}

package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/config"
	"github.com/refhub/referral-service/internal/store"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DatabaseDialect != store.SQLite || c.DatabaseDSN != "data/referrals.db" ||
		c.AppURL != "http://localhost:3000" || !c.DevMode || c.JWTRolesClaim != "roles" ||
		c.RewardPercent.String() != "20" || !c.AutoMigrate || c.StripeWebhookTolerance != 5*time.Minute {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestValues(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"PORT": "9000", "DATABASE_URL": "postgres://u:p@db:5432/x?sslmode=disable",
		"JWT_SECRET": strings.Repeat("k", 32), "JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud", "JWT_ROLES_CLAIM": "perms",
		"REWARD_PERCENT": "12.5", "APP_URL": "https://app.example.com/", "AUTO_MIGRATE": "false",
		"STRIPE_WEBHOOK_SECRET": "whsec_x", "CORS_ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9000" || c.DatabaseDialect != store.Postgres || c.DevMode || c.AutoMigrate ||
		c.AppURL != "https://app.example.com" || c.RewardPercent.String() != "12.5" || len(c.CORSAllowedOrigins) != 2 {
		t.Fatalf("config = %+v", c)
	}
	// HTTP_ADDR wins over PORT; sqlite: names another file.
	c, err = config.Load(env(map[string]string{"HTTP_ADDR": "127.0.0.1:7000", "PORT": "9000", "DATABASE_URL": "sqlite:/tmp/x.db"}))
	if err != nil || c.HTTPAddr != "127.0.0.1:7000" || c.DatabaseDSN != "/tmp/x.db" || !c.DevMode {
		t.Fatalf("config = %+v, %v", c, err)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"JWT_SECRET":            {"DATABASE_URL": "postgres://db/x"},
		"REWARD_PERCENT":        {"REWARD_PERCENT": "150"},
		"APP_URL":               {"APP_URL": "app.example.com"},
		"DATABASE_URL":          {"DATABASE_URL": "mysql://db"},
		"AUTO_MIGRATE":          {"AUTO_MIGRATE": "sometimes"},
		"STRIPE_WEBHOOK_SECRET": {"STRIPE_WEBHOOK_SECRET": "secret"},
		"CORS_ALLOWED_ORIGINS":  {"CORS_ALLOWED_ORIGINS": "*"},
		"SHUTDOWN_TIMEOUT":      {"SHUTDOWN_TIMEOUT": "soon"},
		"LOG_LEVEL":             {"LOG_LEVEL": "loud"},
		"PORT":                  {"PORT": "70000"},
		"JWT_ROLES_CLAIM":       {"JWT_ROLES_CLAIM": ".roles"},
	}
	for name, vars := range cases {
		_, err := config.Load(env(vars))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for _, claim := range []string{"a..b", "roles.", "."} {
		if _, err := config.Load(env(map[string]string{"JWT_ROLES_CLAIM": claim})); err == nil || !strings.Contains(err.Error(), "JWT_ROLES_CLAIM") {
			t.Errorf("JWT_ROLES_CLAIM=%q: err = %v", claim, err)
		}
	}
	for _, claim := range []string{"https://example.com/roles", "realm_access.roles", "cognito:groups"} {
		if c, err := config.Load(env(map[string]string{"JWT_ROLES_CLAIM": claim})); err != nil || c.JWTRolesClaim != claim {
			t.Errorf("JWT_ROLES_CLAIM=%q: %v", claim, err)
		}
	}
	// All problems are reported at once.
	_, err := config.Load(env(map[string]string{"REWARD_PERCENT": "x", "LOG_LEVEL": "y"}))
	if err == nil || !strings.Contains(err.Error(), "REWARD_PERCENT") || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmailSettings(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil || c.SMTP != nil || c.MailFrom != "" || c.MailTemplatesDir != "" {
		t.Fatalf("without SMTP_URL: %+v %v", c, err)
	}
	dir := t.TempDir()
	c, err = config.Load(env(map[string]string{"SMTP_URL": "smtps://apikey:p%40ss@smtp.example.com", "MAIL_FROM": "Referrals <referrals@example.com>",
		"MAIL_TEMPLATES_DIR": dir}))
	if err != nil || c.SMTP == nil || c.SMTP.Host != "smtp.example.com" || c.SMTP.Port != 465 || !c.SMTP.TLS ||
		c.SMTP.Password != "p@ss" || c.MailFrom != "Referrals <referrals@example.com>" || c.MailTemplatesDir != dir {
		t.Fatalf("email settings: %+v %v", c, err)
	}
	for name, vars := range map[string]map[string]string{
		"SMTP_URL":           {"SMTP_URL": "http://user:hunter2@mail.example.com", "MAIL_FROM": "a@example.com"},
		"MAIL_FROM":          {"SMTP_URL": "smtp://user:hunter2@mail.example.com"},
		"MAIL_TEMPLATES_DIR": {"MAIL_TEMPLATES_DIR": dir + "/missing"},
	} {
		_, err := config.Load(env(vars))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the SMTP password: %v", name, err)
		}
	}
	for _, from := range []string{"not an address", "Referrals <>", "a@b.c, d@e.f"} {
		if _, err := config.Load(env(map[string]string{"MAIL_FROM": from})); err == nil || !strings.Contains(err.Error(), "MAIL_FROM") {
			t.Errorf("MAIL_FROM=%q: err = %v", from, err)
		}
	}
}

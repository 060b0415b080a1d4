// Package config reads the settings the worker and the API share from the
// environment, with defaults that make `make run` work on a fresh machine.
// Secrets (API_TOKEN, provider keys, TEMPORAL_API_KEY) come only from the
// environment and are never logged.
package config

import (
	"log/slog"
	"os"
	"strings"

	"dunning/activities"
	"dunning/internal/logmask"
)

// DefaultDatabaseURL is the local PostgreSQL that `make run` prepares.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/dunning?sslmode=disable"

// DatabaseURL is DATABASE_URL or the local default.
func DatabaseURL() string { return env("DATABASE_URL", DefaultDatabaseURL) }

// Brand is what notices sign with: DUNNING_BRAND, DUNNING_HOTLINE, DUNNING_REPAY_URL.
func Brand() activities.Brand {
	return activities.Brand{
		Name:     env("DUNNING_BRAND", "安心借"),
		Hotline:  env("DUNNING_HOTLINE", "400-800-1234"),
		RepayURL: env("DUNNING_REPAY_URL", "https://m.example.cn/repay"),
	}
}

// Logger is a masking (internal/logmask) JSON or text slog logger at LOG_LEVEL (debug|info|warn|error),
// LOG_FORMAT=json for machines, text otherwise.
func Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	// Every line goes through logmask: no phone, email or push token reaches
	// the log, whoever logs it (our code, the SDK, a recovered panic).
	if strings.EqualFold(os.Getenv("LOG_FORMAT"), "json") {
		return logmask.Logger(slog.NewJSONHandler(os.Stderr, opts))
	}
	return logmask.Logger(slog.NewTextHandler(os.Stderr, opts))
}

func env(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

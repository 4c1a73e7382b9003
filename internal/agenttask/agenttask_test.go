package agenttask

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSpecValidateNamesTheField(t *testing.T) {
	t.Parallel()
	sum := "sha256:" + strings.Repeat("a", 64)
	deploy := func(mod func(s *Spec)) Spec {
		s := Spec{Action: ActionDeploy, Service: "web", Version: "1.2.3",
			Source:  &Source{Kind: SourceTar, Location: "https://pkgs.example/web.tgz", Checksum: sum},
			Process: &Process{Command: []string{"bin/web"}}}
		mod(&s)
		return s
	}
	for name, tc := range map[string]struct {
		spec  Spec
		field string
	}{
		"valid":                {deploy(func(*Spec) {}), ""},
		"action":               {deploy(func(s *Spec) { s.Action = "POWEROFF" }), "spec.action"},
		"service with slash":   {deploy(func(s *Spec) { s.Service = "a/b" }), "spec.service"},
		"dot version":          {deploy(func(s *Spec) { s.Version = ".." }), "spec.version"},
		"current version":      {deploy(func(s *Spec) { s.Version = "current" }), "spec.version"},
		"no source":            {deploy(func(s *Spec) { s.Source = nil }), "spec.source"},
		"no checksum":          {deploy(func(s *Spec) { s.Source.Checksum = "" }), "spec.source.checksum"},
		"ftp":                  {deploy(func(s *Spec) { s.Source.Location = "ftp://x/y" }), "spec.source.location"},
		"git without ref":      {deploy(func(s *Spec) { s.Source = &Source{Kind: SourceGit, Location: "/r"} }), "spec.source.ref"},
		"git option ref":       {deploy(func(s *Spec) { s.Source = &Source{Kind: SourceGit, Location: "/r", Ref: "--upload-pack=x"} }), "spec.source.ref"},
		"nothing to run":       {deploy(func(s *Spec) { s.Process = nil }), "spec.process"},
		"unit and process":     {deploy(func(s *Spec) { s.Unit = "web.service" }), "spec.unit"},
		"config climbing out":  {deploy(func(s *Spec) { s.Config = []File{{Path: "a/../../x"}} }), "spec.config[0].path"},
		"config absolute":      {deploy(func(s *Spec) { s.Config = []File{{Path: "/etc/x"}} }), "spec.config[0].path"},
		"health url":           {deploy(func(s *Spec) { s.Health = &HealthCheck{Kind: HealthHTTP, URL: "localhost"} }), "spec.health.url"},
		"health attempts":      {deploy(func(s *Spec) { s.Health = &HealthCheck{Kind: HealthTCP, Address: "h:1", Attempts: -1} }), "spec.health.attempts"},
		"check without health": {Spec{Action: ActionCheck, Service: "web"}, "spec.health"},
		"stop with a source":   {Spec{Action: ActionStop, Service: "web", Source: &Source{}}, "spec.source"},
		"stop":                 {Spec{Action: ActionStop, Service: "web"}, ""},
		"reboot":               {Spec{Action: ActionReboot}, ""},
		"reboot a service":     {Spec{Action: ActionReboot, Service: "web"}, "spec.service"},
		"reboot with a check":  {Spec{Action: ActionReboot, Health: &HealthCheck{Kind: HealthTCP, Address: "h:1"}}, "spec.action"},
		"write-only configure": {Spec{Action: ActionConfigure, Service: "web", NoRestart: true, Config: []File{{Path: "a.conf"}}}, ""},
		"configure to run":     {Spec{Action: ActionConfigure, Service: "web", Config: []File{{Path: "a.conf"}}}, "spec.process"},
		"remove only":          {Spec{Action: ActionConfigure, Service: "web", NoRestart: true, Remove: []string{"conf/old.conf"}}, ""},
		"nothing to configure": {Spec{Action: ActionConfigure, Service: "web", NoRestart: true}, "spec.config"},
		"remove climbing out":  {Spec{Action: ActionConfigure, Service: "web", NoRestart: true, Remove: []string{"a.conf", "conf/../../x"}}, "spec.remove[1]"},
		"remove absolute":      {Spec{Action: ActionConfigure, Service: "web", NoRestart: true, Remove: []string{"/etc/passwd"}}, "spec.remove[0]"},
		"write and remove":     {Spec{Action: ActionConfigure, Service: "web", NoRestart: true, Config: []File{{Path: "a.conf"}}, Remove: []string{"./a.conf"}}, "spec.remove[0]"},
		"remove on deploy":     {deploy(func(s *Spec) { s.Remove = []string{"a.conf"} }), "spec.remove"},
		"no_restart on start":  {Spec{Action: ActionStart, Service: "web", NoRestart: true, Process: &Process{Command: []string{"x"}}}, "spec.no_restart"},
	} {
		err := tc.spec.Validate()
		if tc.field == "" {
			require.NoError(t, err, name)
			continue
		}
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", name, err)
		require.Equal(t, tc.field, fe.Field, name)
	}
}

func TestTruncateAndBound(t *testing.T) {
	t.Parallel()
	require.Equal(t, "short", Truncate("short", 10))
	long := strings.Repeat("é", 5000) // 10,000 bytes
	cut := Truncate(long, 1000)
	require.LessOrEqual(t, len(cut), 1000)
	require.True(t, utf8.ValidString(cut))
	require.Contains(t, cut, "[truncated ")
	r := Report{Output: long, Steps: make([]Step, 80)}
	for i := range r.Steps {
		r.Steps[i] = Step{Name: "s", State: StepOK, Output: long}
	}
	r.Steps[79].Name = "last"
	r.Bound()
	require.Len(t, r.Steps, MaxSteps)
	require.Equal(t, "last", r.Steps[MaxSteps-1].Name)
	require.LessOrEqual(t, len(r.Output), MaxOutput)
	require.LessOrEqual(t, len(r.Steps[0].Output), MaxStepOutput)
}

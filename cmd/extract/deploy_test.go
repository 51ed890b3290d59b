package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The recipes in deploy/ are tested for what can be checked without Docker, Kubernetes
// or Airflow: they parse, and they use only flags, settings and exit codes that exist.

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runFlags are the flags `extract run --help` lists.
func runFlags(t *testing.T) map[string]bool {
	t.Helper()
	code, out, stderr := runCLI(t, nil, "run", "--help")
	if code != 0 {
		t.Fatalf("run --help: exit %d", code)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(out+stderr, -1) {
		flags[m[1]] = true
	}
	if !flags["output"] || !flags["summary-file"] || !flags["metrics-textfile"] || !flags["progress-interval"] || !flags["json"] {
		t.Fatalf("run --help lacks flags: %v", flags)
	}
	return flags
}

// checkFlags reports every --flag in args that run does not have.
func checkFlags(t *testing.T, where string, args []string, flags map[string]bool) {
	t.Helper()
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "=")
		if !flags[name] {
			t.Errorf("%s: extract run has no flag --%s", where, name)
		}
	}
}

// knownEnv: the settings' environment variables, and those of the runtime and the cloud SDKs.
func knownEnv(name string) bool {
	for _, s := range settings {
		if s.env == name {
			return true
		}
	}
	return strings.HasPrefix(name, "AWS_") || name == "GOMEMLIMIT"
}

func TestCronJobManifest(t *testing.T) {
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(readDeploy(t, "kubernetes/cronjob.yaml")))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("cronjob.yaml does not parse: %v", err)
		}
		docs = append(docs, d)
	}
	var cj struct {
		Kind string `yaml:"kind"`
		Spec struct {
			ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
			JobTemplate       struct {
				Spec struct {
					BackoffLimit          *int `yaml:"backoffLimit"`
					ActiveDeadlineSeconds *int `yaml:"activeDeadlineSeconds"`
					PodFailurePolicy      struct {
						Rules []struct {
							Action      string `yaml:"action"`
							OnExitCodes *struct {
								ContainerName string `yaml:"containerName"`
								Operator      string `yaml:"operator"`
								Values        []int  `yaml:"values"`
							} `yaml:"onExitCodes"`
						} `yaml:"rules"`
					} `yaml:"podFailurePolicy"`
					Template struct {
						Spec struct {
							RestartPolicy string `yaml:"restartPolicy"`
							Containers    []struct {
								Name  string   `yaml:"name"`
								Image string   `yaml:"image"`
								Args  []string `yaml:"args"`
								Env   []struct {
									Name      string `yaml:"name"`
									Value     string `yaml:"value"`
									ValueFrom *struct {
										SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
									} `yaml:"valueFrom"`
								} `yaml:"env"`
								VolumeMounts []struct {
									MountPath string `yaml:"mountPath"`
								} `yaml:"volumeMounts"`
							} `yaml:"containers"`
							Volumes []map[string]any `yaml:"volumes"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	found := false
	for _, d := range docs {
		if d["kind"] != "CronJob" {
			continue
		}
		b, _ := yaml.Marshal(d)
		if err := yaml.Unmarshal(b, &cj); err != nil {
			t.Fatal(err)
		}
		found = true
	}
	if !found {
		t.Fatal("no CronJob in cronjob.yaml")
	}
	job := cj.Spec.JobTemplate.Spec
	if cj.Spec.ConcurrencyPolicy != "Forbid" || job.BackoffLimit == nil || job.ActiveDeadlineSeconds == nil || job.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("want concurrencyPolicy Forbid, backoffLimit, activeDeadlineSeconds and restartPolicy Never: %+v", cj.Spec)
	}
	var failJob []int
	for _, r := range job.PodFailurePolicy.Rules {
		if r.Action == "FailJob" && r.OnExitCodes != nil && r.OnExitCodes.Operator == "In" {
			failJob = append(failJob, r.OnExitCodes.Values...)
		}
	}
	slices.Sort(failJob)
	if want := []int{exitConfig, exitAuth, exitData}; !slices.Equal(failJob, want) {
		t.Errorf("podFailurePolicy fails the job on %v, want the config, auth and data exit codes %v", failJob, want)
	}
	if len(job.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container")
	}
	c := job.Template.Spec.Containers[0]
	if !strings.Contains(c.Image, "extract") || len(c.Args) == 0 || c.Args[0] != "run" {
		t.Errorf("container %q runs %v, want the extract image running `run`", c.Image, c.Args)
	}
	checkFlags(t, "cronjob.yaml", c.Args, runFlags(t))
	var output string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--output="); ok {
			output = v
		}
		if strings.HasPrefix(a, "--state") {
			t.Errorf("cronjob.yaml sets %s: the state belongs beside the output on object storage", a)
		}
	}
	if !strings.HasPrefix(output, "s3://") {
		t.Errorf("--output %q, want object storage", output)
	}
	secretRefs, fileVar := 0, ""
	for _, e := range c.Env {
		if !knownEnv(e.Name) {
			t.Errorf("cronjob.yaml sets %s, which extract does not read", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretRefs++
		}
		if strings.HasSuffix(e.Name, "_FILE") {
			fileVar = e.Value
		}
	}
	if secretRefs == 0 || fileVar == "" {
		t.Errorf("want env from secretKeyRef and a _FILE variable: %+v", c.Env)
	}
	if len(c.VolumeMounts) != 1 || !strings.HasPrefix(fileVar, c.VolumeMounts[0].MountPath+"/") {
		t.Errorf("the _FILE variable %q is not in the mounted secret %+v", fileVar, c.VolumeMounts)
	}
	for _, v := range job.Template.Spec.Volumes {
		if v["secret"] == nil {
			t.Errorf("volume %v is not a secret: the state and output go to object storage, not a volume", v)
		}
	}
}

func TestDockerfileBuildsLikeMake(t *testing.T) {
	docker := readDeploy(t, "Dockerfile")
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^build:.*\n\t(.+)$`).FindStringSubmatch(string(mk))
	run := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .+)$`).FindStringSubmatch(docker)
	if recipe == nil || run == nil {
		t.Fatalf("no build command: Makefile %v, Dockerfile %v", recipe, run)
	}
	// The same command but for the Go binary, the version variable and the output path.
	norm := func(cmd string) string {
		cmd = strings.NewReplacer("$(GO)", "go", "$(VERSION)", "V", "${VERSION}", "V").Replace(cmd)
		return regexp.MustCompile(`-o \S+`).ReplaceAllString(cmd, "-o OUT")
	}
	if m, d := norm(recipe[1]), norm(run[1]); m != d {
		t.Errorf("Dockerfile builds with\n  %s\nmake build with\n  %s", d, m)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=`} {
		if !strings.Contains(run[1], want) {
			t.Errorf("build command lacks %s", want)
		}
	}
	for _, want := range []string{"FROM golang:1.26 AS build", "FROM gcr.io/distroless/static-debian13:nonroot", "USER nonroot", `ENTRYPOINT ["/extract"]`, "-o /out/extract", "COPY --from=build /out/extract /extract"} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestAirflowDAGUsesRealFlags(t *testing.T) {
	dag := readDeploy(t, "airflow/extract_dag.py")
	flags := runFlags(t)
	found := regexp.MustCompile(`--[a-z][a-z0-9-]+`).FindAllString(dag, -1)
	if len(found) < 3 {
		t.Fatalf("found only %v", found)
	}
	checkFlags(t, "extract_dag.py", found, flags)
	for _, want := range []string{"KubernetesPodOperator", "BashOperator", "do_xcom_push=True", "--summary-file=/airflow/xcom/return.json", "AirflowFailException"} {
		if !strings.Contains(dag, want) {
			t.Errorf("DAG lacks %q", want)
		}
	}
	m := regexp.MustCompile(`FAIL_FAST = \{(\d+), (\d+), (\d+)\}`).FindStringSubmatch(dag)
	if m == nil || m[1] != "2" || m[2] != "3" || m[3] != "5" || exitConfig != 2 || exitAuth != 3 || exitData != 5 {
		t.Errorf("FAIL_FAST = %v, want the config, auth and data exit codes", m)
	}
	for _, name := range regexp.MustCompile(`"(NETSUITE_[A-Z_]+)"`).FindAllStringSubmatch(dag, -1) {
		if !knownEnv(name[1]) {
			t.Errorf("the DAG sets %s, which extract does not read", name[1])
		}
	}
}

func TestCrontab(t *testing.T) {
	flags := runFlags(t)
	lines := 0
	for _, l := range strings.Split(readDeploy(t, "cron/crontab"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || regexp.MustCompile(`^[A-Z_]+=`).MatchString(l) {
			continue
		}
		lines++
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("%q: want 5 time fields and a command", l)
		}
		field := regexp.MustCompile(`^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$`)
		for _, tf := range f[:5] {
			if !field.MatchString(tf) {
				t.Errorf("%q: time field %q", l, tf)
			}
		}
		if strings.Contains(l, "flock") {
			t.Errorf("%q: no flock needed, the state lock prevents overlap", l)
		}
		cmd := strings.Join(f[5:], " ")
		if !strings.Contains(cmd, "extract run ") || !strings.Contains(cmd, ">>") {
			t.Errorf("%q: want extract run with its logs appended to a file", cmd)
		}
		checkFlags(t, "crontab", regexp.MustCompile(`--[a-z][a-z0-9-]+`).FindAllString(cmd, -1), flags)
	}
	if lines != 1 {
		t.Errorf("%d crontab entries, want 1", lines)
	}
}

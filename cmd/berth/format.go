package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"text/template"
)

// formatRows prints rows through a Go template, as the Docker CLI's
// --format does: the template sees each row's JSON fields ({{.Name}}), and
// "table TEMPLATE" prints a header line (each field's column name from
// headers, else the field name in capitals) and aligns the columns.
func formatRows(w io.Writer, format string, rows any, headers map[string]string) error {
	table := false
	if rest, ok := strings.CutPrefix(format, "table "); ok {
		format, table = rest, true
	}
	// "\t" in a template, as Docker's, separates columns
	format = strings.ReplaceAll(format, `\t`, "\t")
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json":  func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
		"join":  strings.Join,
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
	}).Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	data, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	var list []map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		out = tw
		head := map[string]any{}
		for _, row := range list {
			for k := range row {
				head[k] = strings.ToUpper(k)
			}
		}
		for k, v := range headers {
			head[k] = v
		}
		if err := tmpl.Option("missingkey=zero").Execute(out, head); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(out)
		// columns are separated by tabs in table mode
	}
	for _, row := range list {
		if err := tmpl.Execute(out, row); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// dockerConfigFormat is a --format default from the Docker CLI's
// config.json (psFormat, imagesFormat…), as docker and docker compose
// read it: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. ""
// when unset or unreadable.
func dockerConfigFormat(key string) string {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".docker")
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	var cfg map[string]any
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	s, _ := cfg[key].(string)
	return s
}

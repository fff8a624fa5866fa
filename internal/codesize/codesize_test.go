package codesize

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	maxLines      = 80
	maxComplexity = 20
)

// complexity is the cyclomatic complexity of fn: one, plus one per if,
// for, range, non-default case and comm clause, && and ||. A function
// literal inside is a function of its own (a goroutine body, a callback)
// and does not count toward fn.
func complexity(fn *ast.FuncDecl) int {
	c := 1
	ast.Inspect(fn, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if x.List != nil {
				c++
			}
		case *ast.CommClause:
			if x.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

// oversized lists the functions of the Go file at path over the limits
// whose doc comment does not say why ("long:").
func oversized(fset *token.FileSet, path string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
		cc := complexity(fd)
		if lines <= maxLines && cc <= maxComplexity {
			continue
		}
		if fd.Doc != nil && strings.Contains(fd.Doc.Text(), "long:") {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d: %s: %d lines, complexity %d", path, fset.Position(fd.Pos()).Line, fd.Name.Name, lines, cc))
	}
	return out, nil
}

// TestFunctionsAreShort walks the module (not its tests, testdata, the
// e2e suite or tools/, a module of its own).
func TestFunctionsAreShort(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == ".":
			case strings.HasPrefix(d.Name(), "."), d.Name() == "testdata", rel == "e2e", rel == "tools", rel == "bin":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		over, err := oversized(fset, rel, src)
		if err != nil {
			return err
		}
		for _, o := range over {
			t.Errorf("%s (limits: %d lines, complexity %d; split it, or say why in its doc comment with \"long:\")", o, maxLines, maxComplexity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files under %s: the walk missed the module", files, root)
	}
}

// TestOversizedFindsLongAndBranchyFunctions: the check itself can fail.
func TestOversizedFindsLongAndBranchyFunctions(t *testing.T) {
	var long strings.Builder
	long.WriteString("package p\n\nfunc long() {\n")
	for range maxLines {
		long.WriteString("\t_ = 1\n")
	}
	long.WriteString("}\n\n// excused is long: a flat table.\nfunc excused() {\n")
	for range maxLines {
		long.WriteString("\t_ = 1\n")
	}
	long.WriteString("}\n\nfunc branchy(x int) {\n")
	for i := range maxComplexity {
		fmt.Fprintf(&long, "\tif x == %d || x < 0 {\n\t}\n", i)
	}
	long.WriteString("}\n\nfunc short(x int) {\n\tif x > 0 {\n\t}\n}\n")
	over, err := oversized(token.NewFileSet(), "p.go", long.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(over) != 2 || !strings.Contains(over[0], "long: 82 lines") || !strings.Contains(over[1], "branchy") {
		t.Errorf("oversized = %q, want long (82 lines) and branchy", over)
	}
}

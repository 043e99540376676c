package starlark

import (
	"fmt"
	"strconv"

	"go.starlark.net/syntax"
)

// Names of the guards the rewritten payload calls (see guard.go).
const (
	guardMul  = "__teaclave_mul"
	guardMod  = "__teaclave_mod"
	guardIter = "__teaclave_iter"
	guardAttr = "__teaclave_attr"
)

// guardedMethod reports whether reading the method name goes through
// guardAttr: the methods whose calls can build a result much larger than
// their operands (replace, join, split, format, encode) or iterate a lazy
// range to its end (extend, update, union, ...).
func guardedMethod(name string) bool {
	switch name {
	case "replace", "join", "split", "rsplit", "splitlines", "format", "encode",
		"extend", "update", "union", "intersection", "difference", "symmetric_difference",
		"issubset", "issuperset":
		return true
	}
	return false
}

// rewrite makes a parsed payload call the guards: x * y and x % y become
// __teaclave_mul(x, y) and __teaclave_mod(x, y) (x *= y and x %= y the
// same, for targets without calls in them, which are evaluated twice);
// x += y becomes x += __teaclave_iter(y); and reading a guarded method
// (s.replace) becomes __teaclave_attr(s, "replace"). Starlark runs these
// operations to their end without checking for cancellation, so their
// size must be checked before.
func rewrite(f *syntax.File) error {
	r := &rewriter{}
	r.stmts(f.Stmts)
	return r.err
}

type rewriter struct{ err error }

func (r *rewriter) stmts(stmts []syntax.Stmt) {
	for _, s := range stmts {
		r.stmt(s)
	}
}

func (r *rewriter) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		switch s.Op {
		case syntax.STAR_EQ, syntax.PERCENT_EQ:
			if !pure(s.LHS) {
				if r.err == nil {
					r.err = fmt.Errorf("%s: %s on a target computed by a call is not supported; assign the result instead", s.OpPos, s.Op)
				}
				return
			}
			guard := guardMul
			if s.Op == syntax.PERCENT_EQ {
				guard = guardMod
			}
			lhs := clone(s.LHS)
			s.RHS = call(guard, s.OpPos, r.expr(lhs), r.expr(s.RHS))
			s.Op = syntax.EQ
			r.target(s.LHS)
		case syntax.PLUS_EQ:
			r.target(s.LHS)
			s.RHS = call(guardIter, s.OpPos, r.expr(s.RHS))
		default:
			r.target(s.LHS)
			s.RHS = r.expr(s.RHS)
		}
	case *syntax.DefStmt:
		r.params(s.Params)
		r.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = r.expr(s.X)
	case *syntax.IfStmt:
		s.Cond = r.expr(s.Cond)
		r.stmts(s.True)
		r.stmts(s.False)
	case *syntax.ForStmt:
		r.target(s.Vars)
		s.X = r.expr(s.X)
		r.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = r.expr(s.Cond)
		r.stmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = r.expr(s.Result)
		}
	}
}

// params rewrites the default values of parameters (name=default).
func (r *rewriter) params(params []syntax.Expr) {
	for _, p := range params {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = r.expr(b.Y)
		}
	}
}

// target rewrites the reads inside an assignment target, not the target.
func (r *rewriter) target(e syntax.Expr) {
	switch e := e.(type) {
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
	case *syntax.IndexExpr:
		e.X = r.expr(e.X)
		e.Y = r.expr(e.Y)
	case *syntax.ParenExpr:
		r.target(e.X)
	case *syntax.TupleExpr:
		for _, x := range e.List {
			r.target(x)
		}
	case *syntax.ListExpr:
		for _, x := range e.List {
			r.target(x)
		}
	}
}

func (r *rewriter) exprs(es []syntax.Expr) {
	for i, e := range es {
		es[i] = r.expr(e)
	}
}

// expr rewrites e and returns what replaces it.
func (r *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
		switch e.Op {
		case syntax.STAR:
			return call(guardMul, e.OpPos, e.X, e.Y)
		case syntax.PERCENT:
			return call(guardMod, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = r.expr(e.Fn)
		for i, a := range e.Args {
			// Keyword arguments are name=value.
			if b, ok := a.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
				b.Y = r.expr(b.Y)
				continue
			}
			e.Args[i] = r.expr(a)
		}
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
		if guardedMethod(e.Name.Name) {
			return call(guardAttr, e.Dot, e.X, &syntax.Literal{
				Token: syntax.STRING, TokenPos: e.NamePos, Raw: strconv.Quote(e.Name.Name), Value: e.Name.Name,
			})
		}
	case *syntax.Comprehension:
		e.Body = r.expr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				r.target(c.Vars)
				c.X = r.expr(c.X)
			case *syntax.IfClause:
				c.Cond = r.expr(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = r.expr(e.Cond), r.expr(e.True), r.expr(e.False)
	case *syntax.DictExpr:
		for _, entry := range e.List {
			if d, ok := entry.(*syntax.DictEntry); ok {
				d.Key, d.Value = r.expr(d.Key), r.expr(d.Value)
			}
		}
	case *syntax.IndexExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
	case *syntax.LambdaExpr:
		r.params(e.Params)
		e.Body = r.expr(e.Body)
	case *syntax.ListExpr:
		r.exprs(e.List)
	case *syntax.TupleExpr:
		r.exprs(e.List)
	case *syntax.ParenExpr:
		e.X = r.expr(e.X)
	case *syntax.SliceExpr:
		e.X = r.expr(e.X)
		for _, p := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
			if *p != nil {
				*p = r.expr(*p)
			}
		}
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = r.expr(e.X)
		}
	}
	return e
}

func call(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: args, Rparen: pos}
}

// pure reports whether evaluating e twice is the same as once: names,
// constants, and attributes, indexes and slices of those.
func pure(e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.Ident, *syntax.Literal:
		return true
	case *syntax.ParenExpr:
		return pure(e.X)
	case *syntax.DotExpr:
		return pure(e.X)
	case *syntax.IndexExpr:
		return pure(e.X) && pure(e.Y)
	case *syntax.UnaryExpr:
		return e.X != nil && pure(e.X)
	}
	return false
}

// clone copies a pure expression, so the copy has identifiers of its own
// for the resolver.
func clone(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}
	case *syntax.Literal:
		c := *e
		return &c
	case *syntax.ParenExpr:
		return &syntax.ParenExpr{Lparen: e.Lparen, X: clone(e.X), Rparen: e.Rparen}
	case *syntax.DotExpr:
		return &syntax.DotExpr{X: clone(e.X), Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}
	case *syntax.IndexExpr:
		return &syntax.IndexExpr{X: clone(e.X), Lbrack: e.Lbrack, Y: clone(e.Y), Rbrack: e.Rbrack}
	case *syntax.UnaryExpr:
		return &syntax.UnaryExpr{OpPos: e.OpPos, Op: e.Op, X: clone(e.X)}
	}
	return e
}

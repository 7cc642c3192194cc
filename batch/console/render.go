package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
)

// Funcs are the functions every console template may call; parse page
// templates with them (or with ParseTemplates) so that {{csrf}} and
// {{csrfField}} resolve. Render binds them to the request.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"csrf":      func() string { return "" },
		"csrfField": func() template.HTML { return "" },
	}
}

// ParseTemplates parses the files of fsys matching patterns with Funcs,
// for a page package's embedded templates.
func ParseTemplates(fsys fs.FS, patterns ...string) (*template.Template, error) {
	t, err := template.New("").Funcs(Funcs()).ParseFS(fsys, patterns...)
	if err != nil {
		return nil, fmt.Errorf("parsing console templates: %w", err)
	}
	return t, nil
}

// navItem is one navigation link.
type navItem struct {
	Title   string
	Link    string
	Current bool
}

// layoutData is what the layout template reads.
type layoutData struct {
	Title   string
	Nav     []navItem
	User    *User
	CSRF    string
	Status  int
	Content template.HTML
}

// Render runs t's template name with data inside the layout (title and
// navigation from the registered pages, the user, a logout form) and
// writes it with the console's headers. Inside t, {{csrf}} is the
// session's CSRF token and {{csrfField}} a hidden form field holding it.
// t must not be executed directly: Render executes a clone bound to the
// request.
func Render(w http.ResponseWriter, r *http.Request, t *template.Template, name string, data any) {
	renderStatus(w, r, http.StatusOK, t, name, data)
}

func renderStatus(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name string, data any) {
	st := stateOf(r)
	token := CSRFToken(r)
	c, err := t.Clone()
	if err == nil {
		c.Funcs(template.FuncMap{
			"csrf": func() string { return token },
			"csrfField": func() template.HTML {
				return template.HTML(`<input type="hidden" name="csrf" value="` + template.HTMLEscapeString(token) + `">`)
			},
		})
		var buf bytes.Buffer
		if err = c.ExecuteTemplate(&buf, name, data); err == nil {
			writeLayout(w, r, st, status, template.HTML(buf.String()))
			return
		}
	}
	if st != nil {
		st.s.opts.Logger.Error("console: rendering a page", "template", name, "error", err.Error())
	}
	if status != http.StatusInternalServerError {
		Fail(w, r, http.StatusInternalServerError, "The page could not be shown.")
		return
	}
	http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
}

// writeLayout writes content inside the layout.
func writeLayout(w http.ResponseWriter, r *http.Request, st *reqState, status int, content template.HTML) {
	ld := layoutData{Title: "fhirbridge", Status: status, Content: content}
	layout := defaultLayout
	if st != nil {
		layout = st.s.layout
	}
	if st != nil && st.sess != nil {
		u := st.sess.user
		ld.User, ld.CSRF = &u, st.csrf
		if st.page != nil && st.page.Title != "" {
			ld.Title = st.page.Title
		}
		for _, p := range st.s.pages {
			if p.Title != "" && u.Can(p.Role) {
				ld.Nav = append(ld.Nav, navItem{Title: p.Title, Link: p.link(), Current: st.page != nil && p.Name == st.page.Name})
			}
		}
	}
	var buf bytes.Buffer
	if err := layout.ExecuteTemplate(&buf, "layout.html", ld); err != nil {
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	for k, v := range SecurityHeaders {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// defaultLayout renders pages outside a session (login, errors).
var defaultLayout = template.Must(template.New("layout.html").Funcs(Funcs()).ParseFS(assets, "templates/layout.html"))

// failTemplate is the error page's body.
var failTemplate = template.Must(template.New("fail").Parse(`<section class="fail"><h1>{{.Status}} {{.Text}}</h1><p>{{.Msg}}</p><p><a href="/console/">Back to the console</a></p></section>`))

// Fail writes an error page with status and msg inside the layout. msg
// must hold no patient data and no value from the request.
func Fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var buf bytes.Buffer
	if err := failTemplate.Execute(&buf, struct {
		Status    int
		Text, Msg string
	}{status, http.StatusText(status), msg}); err != nil {
		http.Error(w, msg, status)
		return
	}
	writeLayout(w, r, stateOf(r), status, template.HTML(buf.String()))
}

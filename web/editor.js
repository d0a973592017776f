// The problem page's editor: CodeMirror 6 over the form's textarea (progressive enhancement:
// without this script, or if it fails, the textarea is the editor). The textarea stays the
// form's field, kept equal to the editor's text; the draft is kept per user and problem in
// localStorage. A submit does not clear it: the usual next step after a verdict is to edit the
// same code, and a post that fails (too large, rate-limited, the connection lost) must not take
// the learner's text with it. Back at the page's own text (the starter), the draft is removed.
import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { indentOnInput, indentUnit, bracketMatching, syntaxHighlighting } from "@codemirror/language";
import { classHighlighter } from "@lezer/highlight";
import { python } from "@codemirror/lang-python";

function storage() {
  try {
    return window.localStorage;
  } catch (e) {  // blocked (privacy settings): no draft, the editor still works
    return null;
  }
}

function mount(textarea) {
  const form = textarea.form;
  const key = "jaxjudge.draft." + (form.dataset.user || "") + "." + (form.dataset.problem || "");
  const store = storage();
  const starter = textarea.defaultValue;
  let draft = null;
  try {
    draft = store && store.getItem(key);
  } catch (e) { /* unreadable: start from the page's text */ }
  const save = (text) => {
    if (!store) { return; }
    try {
      if (text === starter) { store.removeItem(key); } else { store.setItem(key, text); }
    } catch (e) { /* full or blocked: the form still has the text */ }
  };
  const label = document.getElementById("source-label");
  const view = new EditorView({
    state: EditorState.create({
      doc: draft !== null ? draft : textarea.value,
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(),
        drawSelection(), indentOnInput(), bracketMatching(), highlightActiveLine(),
        python(), indentUnit.of("    "), syntaxHighlighting(classHighlighter),
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's tab focus mode).
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({
          "aria-describedby": "editor-hint", ...(label ? { "aria-labelledby": "source-label" } : {}),
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            const text = update.state.doc.toString();
            textarea.value = text;
            save(text);
          }
        }),
      ],
    }),
  });
  textarea.value = view.state.doc.toString();
  textarea.hidden = true;
  textarea.after(view.dom);
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  if (label) {  // the label's click goes to the editor, not to the hidden textarea
    label.addEventListener("click", (event) => { event.preventDefault(); view.focus(); });
  }
  const hint = document.createElement("p");
  hint.className = "muted editor-hint";
  hint.id = "editor-hint";
  hint.textContent = "Tab indents; press Escape, then Tab, to move on from the editor.";
  view.dom.after(hint);
  window.jaxjudgeEditor = view;  // for the browser tests and the console
}

const textarea = document.getElementById("source");
if (textarea && textarea.form) {
  mount(textarea);
}

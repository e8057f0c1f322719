// A reusable, accessible autosuggest widget: the WAI-ARIA 1.2 combobox pattern with a listbox
// popup (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/).
//
//   import { attachAutosuggest } from "./autosuggest.js";
//   const widget = attachAutosuggest(input, listbox, {
//     suggest: (query) => [{ text, score, highlight: [start, end], edits, word_start, categories }, ...],
//     onSelect: (suggestion) => { ... },   // e.g. follow suggestion.payload.url
//     detail: (suggestion) => "FR",        // optional small text after the label
//     tags: (suggestion) => [...],         // optional: which categories to show (default all)
//     onEvent: (event) => log.add(event),  // optional: impressions, clicks, searches (events.js)
//   });
//
// `suggest` returns the suggestions, or an answer object `{suggestions, response_id, arm,
// experiment, took_us}` as /v1/suggest gives (its ids travel with the events). Events, in the
// schema of docs/EVENTS.md without ts/user/session (the log adds those): an `impression` of the
// last list shown when the user commits or leaves the box, never per keystroke (an empty list
// too: a zero-suggestion impression); a `click` with text and position when one is picked; a
// `search` for every committed query (Enter, or a pick).
//
// Text is always inserted as text nodes (never innerHTML), so suggestion data cannot inject
// markup. The matched span (at the phrase start or at a later word) is wrapped in <mark>;
// a typo-tolerant match is marked with "≈", categories are shown as tags.

let nextId = 0;

/** The ids an answer object carries back in events. */
function answerIds(answer) {
  const ids = {};
  if (answer?.response_id) ids.response_id = answer.response_id;
  if (answer?.arm) ids.variant = answer.arm;
  if (answer?.experiment) ids.experiment = answer.experiment;
  if (answer?.index) ids.index = answer.index;
  if (answer?.version !== undefined && answer?.version !== null) ids.version = String(answer.version);
  return ids;
}

/**
 * @param {HTMLInputElement} input  an <input role="combobox" aria-controls=listbox.id>
 * @param {HTMLElement} listbox     a <ul role="listbox">
 * @param {{suggest: (q: string) => Array<{text: string, score: number, highlight?: [number, number]}>
 *            | Promise<Array<object>>,
 *          onSelect?: (s: object) => void, onResults?: (q: string, results: object[], ms: number) => void,
 *          showScores?: boolean, detail?: (s: object) => string | null,
 *          tags?: (s: object) => string[]}} options
 */
export function attachAutosuggest(input, listbox, options) {
  const prefix = `as${nextId++}`;
  let results = [];
  let active = -1;
  /** The answer shown since the last commit, not yet logged as an impression. */
  let shown = null;

  const open = () => {
    listbox.hidden = results.length === 0;
    input.setAttribute("aria-expanded", String(results.length > 0));
  };
  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  };

  function setActive(index) {
    const options = listbox.querySelectorAll('[role="option"]');
    options.forEach((el, i) => el.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render() {
    listbox.replaceChildren();
    results.forEach((s, i) => {
      const li = document.createElement("li");
      li.id = `${prefix}-opt-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const label = document.createElement("span");
      label.className = "text";
      const [start, end] = s.highlight ?? [0, 0];
      const before = s.text.slice(0, start);
      const matched = s.text.slice(start, end);
      const after = s.text.slice(end);
      if (before) label.append(document.createTextNode(before));
      if (matched) {
        const mark = document.createElement("mark");
        mark.append(document.createTextNode(matched));
        label.append(mark);
      }
      if (after) label.append(document.createTextNode(after));
      li.append(label);
      const meta = document.createElement("span");
      meta.className = "meta";
      if (s.edits > 0) {
        const typo = document.createElement("span");
        typo.className = "typo";
        typo.title = `${s.edits} typo${s.edits > 1 ? "s" : ""} corrected`;
        typo.textContent = "≈";
        meta.append(typo);
      }
      const detail = options.detail?.(s);
      if (detail) {
        const d = document.createElement("span");
        d.className = "detail";
        d.textContent = detail;
        meta.append(d);
      }
      for (const c of options.tags ? options.tags(s) : s.categories ?? []) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = c;
        meta.append(tag);
      }
      if (meta.childNodes.length) li.append(meta);
      if (options.showScores) {
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = s.score.toLocaleString("en");
        li.append(score);
      }
      // mousedown, not click: it fires before the input loses focus.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        choose(i);
      });
      li.addEventListener("mousemove", () => active !== i && setActive(i));
      listbox.append(li);
    });
    setActive(-1);
    open();
  }

  /** The widget's events, to `options.onEvent`. */
  function emit(event) {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken logger must not break typing.
    }
  }

  /** Logs the pending impression, once: on commit, pick or leaving the box. */
  function logImpression() {
    if (!shown) return null;
    const { q, list, answer, error } = shown;
    shown = null;
    emit({
      type: "impression", q, suggestions: list.map((s) => s.text),
      ...answerIds(answer), ...(answer?.took_us !== undefined ? { took_us: answer.took_us } : {}),
      ...(error ? { error } : {}),
    });
    return answer;
  }

  function choose(index) {
    const s = results[index];
    if (!s) return;
    const q = input.value;
    const answer = logImpression();
    emit({ type: "click", q, text: s.text, position: index, ...answerIds(answer) });
    emit({ type: "search", q: s.text, ...answerIds(answer) });
    input.value = s.text;
    close();
    options.onSelect?.(s);
  }

  /** Enter on typed text: a committed query. */
  function commitTyped() {
    const answer = logImpression();
    if (input.value.trim()) emit({ type: "search", q: input.value, ...answerIds(answer) });
  }

  // `suggest` may return results or a promise of them (a remote API); a late answer to an
  // older keystroke is dropped.
  let latest = 0;
  function update() {
    const t0 = performance.now();
    const query = input.value;
    const ticket = ++latest;
    const show = (answer, error) => {
      if (ticket !== latest) return;
      const list = Array.isArray(answer) ? answer : answer?.suggestions ?? [];
      results = list;
      shown = query.length ? { q: query, list, answer: Array.isArray(answer) ? null : answer, error } : null;
      options.onResults?.(query, results, performance.now() - t0);
      render();
    };
    const fail = (e) => {
      if (ticket !== latest) return;
      options.onError?.(e);
      show([], String(e?.message ?? e).slice(0, 200) || "error");
    };
    try {
      const answer = query.length ? options.suggest(query) : [];
      if (answer && typeof answer.then === "function") answer.then(show, fail);
      else show(answer);
    } catch (e) {
      fail(e);
    }
  }

  // One signal removes every listener on the input when the widget is destroyed.
  const listening = new AbortController();
  const on = (type, handler) => input.addEventListener(type, handler, { signal: listening.signal });
  on("input", update);
  on("focus", () => input.value && update());
  on("blur", () => {
    logImpression();
    close();
  });
  on("keydown", (e) => {
    const n = results.length;
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (listbox.hidden && input.value) update();
        if (n) setActive((active + 1) % n);
        break;
      case "ArrowUp":
        e.preventDefault();
        if (n) setActive(active <= 0 ? n - 1 : active - 1);
        break;
      case "Enter":
        if (active >= 0) {
          e.preventDefault();
          choose(active);
        } else {
          commitTyped();
          close();
        }
        break;
      case "Escape":
        if (!listbox.hidden) {
          e.preventDefault();
          close();
        } else {
          input.value = "";
        }
        break;
      case "Tab":
        if (active >= 0) choose(active);
        else close();
        break;
    }
  });

  return {
    refresh: update,
    /** Logs the pending impression now (e.g. before the page submits a form itself). */
    commit: logImpression,
    close,
    /** Logs the pending impression, closes the list and stops listening to the input. */
    destroy() {
      logImpression();
      close();
      listening.abort();
    },
    get results() {
      return results;
    },
  };
}

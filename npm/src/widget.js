// `edgesuggest/widget`: the accessible autosuggest widget (a WAI-ARIA combobox with a listbox
// popup). `attachAutosuggest` is the page's own widget (autosuggest.js); `attach` wires it to
// an input in one call: it creates the listbox, sets the ARIA attributes, asks a Suggester,
// and reports picks and impressions as callbacks and as DOM events on the input.
import { attachAutosuggest } from "./autosuggest.js";

export { attachAutosuggest };

let widgets = 0;

/**
 * Turns `input` into an autosuggest combobox. Style it with widget.css (custom properties
 * `--es-*`).
 * @param {HTMLInputElement} input
 * @param {import("./widget.d.ts").AttachOptions} options
 * @returns {import("./widget.d.ts").Widget}
 */
export function attach(input, options = {}) {
  const suggest = suggestFunction(options);
  const listbox = createListbox(input);
  let lastClick = null;
  const controller = attachAutosuggest(input, listbox, {
    suggest,
    detail: options.detail,
    tags: options.tags,
    showScores: options.showScores,
    onResults: options.onResults,
    onError: options.onError,
    onEvent(event) {
      if (event.type === "click") lastClick = event;
      if (event.type === "impression") {
        options.onImpression?.(event);
        dispatch(input, "edgesuggest:impression", event);
      }
      options.onEvent?.(event);
    },
    onSelect(suggestion) {
      const pick = { q: lastClick?.q ?? "", text: suggestion.text, position: lastClick?.position ?? -1, suggestion };
      lastClick = null;
      options.onPick?.(pick);
      dispatch(input, "edgesuggest:pick", pick);
    },
  });
  return {
    input,
    listbox,
    refresh: controller.refresh,
    commit: controller.commit,
    close: controller.close,
    destroy() {
      controller.destroy();
      listbox.remove();
      for (const name of ["role", "aria-autocomplete", "aria-expanded", "aria-controls", "aria-activedescendant"]) {
        input.removeAttribute(name);
      }
      input.classList.remove("es-input");
    },
    get results() {
      return controller.results;
    },
  };
}

/** The widget's `suggest`: the caller's own, or a Suggester asked with `suggestOptions`. */
function suggestFunction({ suggest, suggester, suggestOptions }) {
  if (typeof suggest === "function") return suggest;
  if (suggester && typeof suggester.suggest === "function") {
    return (query) => suggester.suggest(query, suggestOptions);
  }
  throw new TypeError("edgesuggest/widget: attach needs options.suggester (a Suggester) or options.suggest (a function)");
}

/** Creates the popup listbox after `input` and sets the combobox attributes that point to it. */
function createListbox(input) {
  const n = widgets++;
  if (!input.id) input.id = `es-input-${n}`;
  const listbox = document.createElement("ul");
  listbox.id = `${input.id}-listbox`;
  listbox.className = "es-listbox";
  listbox.setAttribute("role", "listbox");
  const label = input.labels?.[0];
  if (label) {
    if (!label.id) label.id = `${input.id}-label`;
    listbox.setAttribute("aria-labelledby", label.id);
  }
  listbox.hidden = true;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  input.setAttribute("autocomplete", "off");
  input.classList.add("es-input");
  // The listbox is positioned under the input, relative to their common parent.
  input.parentElement?.classList.add("es-autosuggest");
  input.after(listbox);
  return listbox;
}

/** A bubbling DOM event on the input, for code that listens rather than passes callbacks. */
function dispatch(input, type, detail) {
  input.dispatchEvent(new CustomEvent(type, { detail, bubbles: true }));
}

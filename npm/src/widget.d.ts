// Types of "edgesuggest/widget".
import type { Suggestion, SuggestOptions } from "./index.js";

/** What `suggest` may answer: suggestions, or an answer object as the HTTP API's
 * `/v1/suggest` gives (its ids travel with the events), or a promise of either. */
export type SuggestAnswer =
  | Suggestion[]
  | { suggestions: Suggestion[]; response_id?: string; arm?: string; experiment?: string; took_us?: number };

/** An impression: the last list shown, logged once when the user commits or leaves the box
 * (never per keystroke; an empty list too). */
export interface ImpressionEvent {
  type: "impression";
  q: string;
  suggestions: string[];
  response_id?: string;
  variant?: string;
  experiment?: string;
  took_us?: number;
  error?: string;
}

/** Every event of the widget: impressions, clicks (a pick) and searches (Enter, or a pick). */
export type WidgetEvent =
  | ImpressionEvent
  | { type: "click"; q: string; text: string; position: number; response_id?: string; variant?: string; experiment?: string }
  | { type: "search"; q: string; response_id?: string; variant?: string; experiment?: string };

/** A pick: the user chose a suggestion (Enter or Tab on the active option, or a click). */
export interface PickEvent {
  /** What was typed. */
  q: string;
  /** The chosen suggestion's text (now the input's value). */
  text: string;
  /** Its position in the list, from 0. */
  position: number;
  suggestion: Suggestion;
}

export interface AttachOptions {
  /** A loaded Suggester to ask (with `suggestOptions`)... */
  suggester?: { suggest(query: string, options?: SuggestOptions): Suggestion[] };
  /** ...or any function of the query (e.g. calling an HTTP API). */
  suggest?: (query: string) => SuggestAnswer | Promise<SuggestAnswer>;
  /** Options for `suggester.suggest`, e.g. `{ k: 8, fuzzy: "auto" }`. */
  suggestOptions?: SuggestOptions;
  /** Called on a pick; the input also dispatches `edgesuggest:pick` (detail: the PickEvent). */
  onPick?: (pick: PickEvent) => void;
  /** Called on an impression; the input also dispatches `edgesuggest:impression`. */
  onImpression?: (event: ImpressionEvent) => void;
  /** Every event (impression, click, search), e.g. to send to `/v1/events`. */
  onEvent?: (event: WidgetEvent) => void;
  /** Small text after an option's label (e.g. a country code). */
  detail?: (s: Suggestion) => string | null;
  /** Which categories to show as tags (default: all). */
  tags?: (s: Suggestion) => string[];
  /** Show each option's score. */
  showScores?: boolean;
  /** After each list is shown: the query, the list and the milliseconds it took. */
  onResults?: (query: string, results: Suggestion[], ms: number) => void;
  /** When `suggest` throws or rejects (the list is then empty). */
  onError?: (error: unknown) => void;
}

export interface Widget {
  input: HTMLInputElement;
  /** The `<ul role="listbox" class="es-listbox">` created after the input. */
  listbox: HTMLUListElement;
  /** Asks again for the input's current value. */
  refresh(): void;
  /** Logs the pending impression now (e.g. before the page submits a form itself). */
  commit(): void;
  /** Closes the popup. */
  close(): void;
  /** Logs the pending impression, removes the listbox, the combobox attributes and every
   * listener the widget added: the input is a plain input again. */
  destroy(): void;
  /** The suggestions shown. */
  readonly results: Suggestion[];
}

/** Turns an input into an autosuggest combobox: creates its listbox, sets the ARIA attributes,
 * and wires keyboard (arrows, Enter, Tab, Escape), mouse and events. */
export declare function attach(input: HTMLInputElement, options: AttachOptions): Widget;

/** The lower-level widget over an existing `<input role="combobox">` and `<ul role="listbox">`. */
export declare function attachAutosuggest(
  input: HTMLInputElement,
  listbox: HTMLElement,
  options: {
    suggest: (query: string) => SuggestAnswer | Promise<SuggestAnswer>;
    onSelect?: (s: Suggestion) => void;
    onEvent?: (event: WidgetEvent) => void;
    onResults?: (query: string, results: Suggestion[], ms: number) => void;
    onError?: (error: unknown) => void;
    detail?: (s: Suggestion) => string | null;
    tags?: (s: Suggestion) => string[];
    showScores?: boolean;
  },
): { refresh(): void; commit(): void; close(): void; destroy(): void; readonly results: Suggestion[] };

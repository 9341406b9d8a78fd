// Small shared pieces: labelled fields with their error, buttons, badges.
import type { ReactNode } from "react";
import type { Priority } from "#core/tasks.ts";

export function Field({
  label,
  name,
  error,
  hint,
  children,
}: {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className="space-y-1">
      <label htmlFor={name} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      {children}
      {hint ? <p className="text-xs text-slate-600">{hint}</p> : null}
      {error ? (
        <p id={`${name}-error`} role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export const inputClass =
  "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-500 focus:border-indigo-600";

const smallLabelClass = "block text-xs font-medium text-slate-700";

/** A select in an editor's row of small controls: its label above it; id and name are `name`. */
export function SmallSelect({
  name,
  label,
  value,
  onChange,
  options,
}: {
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** [value, text] pairs, in order. */
  options: readonly (readonly [string, string])[];
}) {
  return (
    <div>
      <label htmlFor={name} className={smallLabelClass}>
        {label}
      </label>
      <select
        id={name}
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className={`${inputClass} mt-1`}
      >
        {options.map(([option, text]) => (
          <option key={option} value={option}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** An input in an editor's row of small controls: its label above it; id and name are `name`. */
export function SmallInput({
  name,
  label,
  value,
  onChange,
  type,
  min,
  max,
  width = "",
  describedBy,
}: {
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  type: "number" | "date" | "time";
  min?: number;
  max?: number;
  /** A width class for short numbers ("w-20"); otherwise the input takes the row's width. */
  width?: string;
  describedBy?: string;
}) {
  return (
    <div>
      <label htmlFor={name} className={smallLabelClass}>
        {label}
      </label>
      <input
        id={name}
        name={name}
        type={type}
        min={min}
        max={max}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={describedBy}
        className={`${inputClass} mt-1 ${width}`.trimEnd()}
      />
    </div>
  );
}

export const buttonClass =
  "inline-flex items-center justify-center rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 disabled:opacity-60";

export const secondaryButtonClass =
  "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50";

export const dangerButtonClass =
  "inline-flex items-center justify-center rounded-md border border-red-300 bg-white px-3 py-2 text-sm font-medium text-red-700 hover:bg-red-50";

const PRIORITY_STYLE: Record<Priority, string> = {
  high: "bg-red-100 text-red-800 ring-red-600/30",
  medium: "bg-amber-100 text-amber-900 ring-amber-600/30",
  low: "bg-sky-100 text-sky-900 ring-sky-600/30",
  none: "",
};

export function PriorityBadge({ priority }: { priority: Priority }) {
  if (priority === "none") return null;
  return (
    <span
      data-priority={priority}
      className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${PRIORITY_STYLE[priority]}`}
    >
      {priority === "high" ? "High" : priority === "medium" ? "Medium" : "Low"}
    </span>
  );
}

export function TagChip({ tag }: { tag: string }) {
  return (
    <span
      className="inline-flex items-center rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700"
      data-tag={tag}
    >
      #{tag}
    </span>
  );
}

export function CsrfInput({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

// The browser's speech: dictation into the chat (Web Speech API recognition, where the browser has
// it) and reading the assistant's replies aloud (speechSynthesis), a setting kept per device.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";

/** The part of SpeechRecognition we use (TypeScript's DOM library does not declare it). */
interface Recognition {
  lang: string;
  interimResults: boolean;
  continuous: boolean;
  maxAlternatives: number;
  onresult: ((event: RecognitionResultEvent) => void) | null;
  onerror: ((event: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}

interface RecognitionResultEvent {
  resultIndex: number;
  results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }>;
}

type RecognitionConstructor = new () => Recognition;

function recognitionConstructor(): RecognitionConstructor | null {
  const w = window as unknown as {
    SpeechRecognition?: RecognitionConstructor;
    webkitSpeechRecognition?: RecognitionConstructor;
  };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition ?? null;
}

/** A recognition error code (the Web Speech API's SpeechRecognitionErrorCode) in words. */
export function dictationErrorMessage(code: string): string | null {
  switch (code) {
    case "aborted":
      return null; // we stopped it
    case "not-allowed":
    case "service-not-allowed":
      return "Orbit may not use the microphone. Allow it for this site in the browser's settings, then press the microphone again.";
    case "no-speech":
      return "No speech was heard. Press the microphone and speak, or type instead.";
    case "audio-capture":
      return "No microphone was found. Connect one, or type instead.";
    case "network":
      return "The browser's speech service could not be reached (Chrome sends speech to Google's servers for recognition). Type instead, or try again when you are online.";
    case "language-not-supported":
      return "The browser's speech service does not support your language. Type instead.";
    default:
      return `Voice input stopped (${code}). Type instead, or press the microphone again.`;
  }
}

export interface Dictation {
  /** null until mounted (the server cannot know), then whether this browser offers recognition. */
  supported: boolean | null;
  listening: boolean;
  error: string | null;
  start(): void;
  stop(): void;
}

/**
 * Dictation: `onInterim` with the words heard so far (shown in the input), `onFinal` once the
 * speaker pauses (the panel sends it). One utterance a press; a second press stops listening.
 */
export function useDictation(handlers: {
  onInterim(text: string): void;
  onFinal(text: string): void;
}): Dictation {
  const [supported, setSupported] = useState<boolean | null>(null);
  const [listening, setListening] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const recognition = useRef<Recognition | null>(null);
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    setSupported(recognitionConstructor() !== null);
    return () => recognition.current?.abort();
  }, []);

  const start = useCallback(() => {
    const Constructor = recognitionConstructor();
    if (!Constructor || recognition.current) return;
    const r = new Constructor();
    r.lang = document.documentElement.lang || navigator.language || "en";
    r.interimResults = true;
    r.continuous = false;
    r.maxAlternatives = 1;
    let finalText = "";
    r.onresult = (event) => {
      let interim = "";
      for (let i = event.resultIndex; i < event.results.length; i++) {
        const result = event.results[i]!;
        const transcript = result[0]?.transcript ?? "";
        if (result.isFinal) finalText += transcript;
        else interim += transcript;
      }
      if (interim) handlersRef.current.onInterim(finalText + interim);
    };
    r.onerror = (event) => setError(dictationErrorMessage(event.error));
    r.onend = () => {
      recognition.current = null;
      setListening(false);
      if (finalText.trim()) handlersRef.current.onFinal(finalText.trim());
    };
    setError(null);
    recognition.current = r;
    try {
      r.start();
      setListening(true);
    } catch (e) {
      recognition.current = null;
      setError(dictationErrorMessage((e as Error).name === "NotAllowedError" ? "not-allowed" : "unknown"));
    }
  }, []);

  const stop = useCallback(() => recognition.current?.stop(), []);
  return { supported, listening, error, start, stop };
}

// Spoken replies: per device (localStorage), because voices and whether speaking suits the place
// (a phone on a train, a desktop at home) differ from device to device.
const SPEAK_KEY = "orbit.assistant.speakReplies";
const SPEAK_EVENT = "orbit:speak-replies";

function readSpeak(): boolean {
  try {
    return localStorage.getItem(SPEAK_KEY) === "on";
  } catch {
    return false; // storage blocked: the default, off
  }
}

function subscribeSpeak(onChange: () => void): () => void {
  window.addEventListener("storage", onChange);
  window.addEventListener(SPEAK_EVENT, onChange);
  return () => {
    window.removeEventListener("storage", onChange);
    window.removeEventListener(SPEAK_EVENT, onChange);
  };
}

/** Whether this device reads replies aloud (off by default and on the server), and its setter. */
export function useSpokenReplies(): [boolean, (on: boolean) => void] {
  const on = useSyncExternalStore(subscribeSpeak, readSpeak, () => false);
  const set = useCallback((value: boolean) => {
    try {
      if (value) localStorage.setItem(SPEAK_KEY, "on");
      else localStorage.removeItem(SPEAK_KEY);
    } catch {
      // storage blocked: nothing to keep
    }
    window.dispatchEvent(new Event(SPEAK_EVENT));
  }, []);
  return [on, set];
}

export function canSpeak(): boolean {
  return typeof window !== "undefined" && "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;
}

/** Reads `text` aloud, cutting off whatever was still being read. */
export function speak(text: string): void {
  if (!canSpeak() || !text.trim()) return;
  window.speechSynthesis.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = document.documentElement.lang || navigator.language || "en";
  window.speechSynthesis.speak(utterance);
}

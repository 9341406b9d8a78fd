// The per-response CSP nonce, handed from entry.server to <Scripts> (as in epic-stack).
import { createContext, useContext } from "react";

const NonceContext = createContext<string>("");
export const NonceProvider = NonceContext.Provider;
export const useNonce = () => useContext(NonceContext);

// The Vercel AI SDK (ai + @ai-sdk/openai) against the gateway at GATEWAY_BASE_URL with
// GATEWAY_API_KEY. Runs each case and prints one JSON object: {case: {ok, ...}}; a failed case
// carries its error and the last request and response seen on the wire.
import { createOpenAI } from "@ai-sdk/openai";
import {
  embed,
  generateObject,
  generateText,
  Output,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import { z } from "zod";

// generateObject is deprecated in this version (still what many apps call): keep stderr quiet.
globalThis.AI_SDK_LOG_WARNINGS = false;

const wire = { request: null, response: null };

async function recordingFetch(url, init) {
  wire.request = { url: String(url), method: init?.method, body: init?.body ?? null };
  wire.response = null;
  const response = await fetch(url, init);
  if (!response.ok) {
    wire.response = { status: response.status, body: await response.clone().text() };
  }
  return response;
}

const openai = createOpenAI({
  baseURL: process.env.GATEWAY_BASE_URL,
  apiKey: process.env.GATEWAY_API_KEY,
  fetch: recordingFetch,
});

const City = z.object({ name: z.string(), population: z.number().int() });
// The openai provider stores responses by default (store: true) and then refers to earlier
// turns by item id; the gateway keeps no state, so multi-turn calls send store: false.
const noStore = { openai: { store: false } };
const options = { maxRetries: 0, abortSignal: undefined };

const getWeather = tool({
  description: "The weather in a city.",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

async function toolRoundTrip(model) {
  const first = await generateText({
    ...options,
    model,
    tools: { getWeather },
    toolChoice: "required",
    prompt: "What is the weather in Paris?",
    providerOptions: noStore,
  });
  const call = first.toolCalls[0];
  const result = first.toolResults[0];
  const second = await generateText({
    ...options,
    model,
    tools: { getWeather },
    messages: [
      { role: "user", content: "What is the weather in Paris?" },
      ...first.response.messages,
    ],
    providerOptions: noStore,
  });
  return {
    toolName: call?.toolName,
    input: call?.input,
    output: result?.output,
    finalText: second.text,
    finalToolCalls: second.toolCalls.length,
  };
}

const cases = {
  async generateText() {
    const result = await generateText({ ...options, model: openai("fast"), prompt: "Hi there." });
    return { text: result.text, inputTokens: result.usage.inputTokens };
  },
  async generateTextChat() {
    const result = await generateText({
      ...options,
      model: openai.chat("fast"),
      prompt: "Hi there.",
    });
    return { text: result.text, inputTokens: result.usage.inputTokens };
  },
  async streamText() {
    const result = streamText({ ...options, model: openai("fast"), prompt: "Count to three." });
    const parts = [];
    for await (const part of result.textStream) parts.push(part);
    return { parts: parts.length, text: parts.join(""), finishReason: await result.finishReason };
  },
  async generateObjectChat() {
    const result = await generateObject({
      ...options,
      model: openai.chat("balanced"),
      schema: City,
      prompt: "Give me a city and its population.",
    });
    return { object: result.object };
  },
  async generateObjectResponses() {
    const result = await generateObject({
      ...options,
      model: openai("balanced"),
      schema: City,
      prompt: "Give me a city and its population.",
    });
    return { object: result.object };
  },
  async generateTextOutputObject() {
    const result = await generateText({
      ...options,
      model: openai("balanced"),
      output: Output.object({ schema: City }),
      prompt: "Give me a city and its population.",
    });
    return { object: result.output };
  },
  async multiTurnDefaultStore() {
    // Without store: false the second turn refers to the first by item id: refused (400).
    const model = openai("fast");
    const first = await generateText({ ...options, model, prompt: "Hi there." });
    const second = await generateText({
      ...options,
      model,
      messages: [
        { role: "user", content: "Hi there." },
        ...first.response.messages,
        { role: "user", content: "And again." },
      ],
    });
    return { text: second.text };
  },
  async embed() {
    const result = await embed({
      ...options,
      model: openai.embedding("embed"),
      value: "A sentence to embed.",
    });
    return { dimensions: result.embedding.length };
  },
  async toolsRequiredResponses() {
    return toolRoundTrip(openai("fast"));
  },
  async toolsRequiredChat() {
    return toolRoundTrip(openai.chat("fast"));
  },
  async multiStepAgent() {
    const result = await generateText({
      ...options,
      model: openai("fast"),
      tools: { getWeather },
      stopWhen: stepCountIs(3),
      prompt: "What is the weather in Paris?",
      providerOptions: noStore,
    });
    return {
      steps: result.steps.length,
      toolCalls: result.steps.flatMap((step) => step.toolCalls).length,
      text: result.text,
    };
  },
};

const only = process.argv.slice(2);
const results = {};
for (const [name, run] of Object.entries(cases)) {
  if (only.length && !only.includes(name)) continue;
  try {
    results[name] = { ok: true, ...(await run()) };
  } catch (error) {
    results[name] = {
      ok: false,
      error: `${error?.name}: ${error?.message}`,
      request: wire.request,
      response: wire.response ?? (error?.responseBody ? { body: error.responseBody } : null),
    };
  }
}
process.stdout.write(JSON.stringify(results) + "\n");

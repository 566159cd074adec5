import "./styles.css";
import { mount } from "svelte";
import App from "./App.svelte";
import { pickBackend } from "./backend";

const root = document.getElementById("app");
if (!root) throw new Error("index.html lost its #app element");
void pickBackend().then((backend) => mount(App, { target: root, props: { backend } }));

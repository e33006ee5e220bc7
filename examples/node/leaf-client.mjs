// A tiny Leaf client, written from Leaf's documentation: the code under test.
export class LeafClient {
  constructor(baseUrl, { retries = 2 } = {}) {
    this.baseUrl = baseUrl;
    this.retries = retries;
    this.token = null;
  }

  async login(username, password) {
    const r = await fetch(`${this.baseUrl}/api/authenticate`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password, rememberMe: "true" }),
    });
    if (r.status !== 200) throw new Error(`login failed: ${r.status}`);
    this.token = (await r.json()).id_token;
  }

  async call(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(`${this.baseUrl}/services/usermanagement/api${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (r.status >= 500 && attempt < this.retries) continue; // Leaf's 5xx: try again
      return r;
    }
  }

  async createUser(name) {
    const r = await this.call("POST", "/users", { name });
    if (r.status !== 201) throw new Error(`createUser: ${r.status}`);
    return (await r.json()).id;
  }

  async connectJohnDeere(leafUserId, clientKey, clientSecret, refreshToken) {
    const r = await this.call("POST", `/users/${leafUserId}/john-deere-credentials`,
      { clientKey, clientSecret, refreshToken, clientEnvironment: "STAGE" });
    if (r.status !== 201) throw new Error(`connectJohnDeere: ${r.status} ${await r.text()}`);
    return r.json();
  }

  async credentialHealth(leafUserId) {
    const r = await this.call("GET", `/users/${leafUserId}/john-deere-credentials`);
    if (r.status === 404) return "not connected";
    if (r.status !== 200) throw new Error(`credentialHealth: ${r.status}`);
    return (await r.json()).status === "OK" ? "healthy" : "reconnect needed";
  }
}

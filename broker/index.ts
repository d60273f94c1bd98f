/** The broker's public surface. */
export { startBroker, type BrokerDeps, type RunningBroker } from './server.js'
export { BROKER_DEFAULTS, type BrokerConfig } from './config.js'
export { BrokerError, type BrokerErrorCode } from './errors.js'
export { parseIdentity, identityFromCertificate, clientIdOf, clientIdBelongsTo, type Identity } from './identity.js'
export { parsePublishTopic, parseSubscribeFilter, formatTopic, internalTopic, orgPrefix, stripOrg, clientTopicFor, type SchemeTopic } from './topics.js'
export { mayPublish, maySubscribe, type GatewayScope } from './policy.js'
export { MQTT_KEY_PREFIX } from './mqtt-persistence.js'

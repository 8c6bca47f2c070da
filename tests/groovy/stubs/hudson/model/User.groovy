package hudson.model

/** Look-alike of Jenkins' User: only its id (getId and getFullName are whitelisted in the sandbox). */
class User implements Serializable {
    final String id

    User(String id) {
        this.id = id
    }

    String getId() {
        return id
    }

    String getFullName() {
        return id
    }

    String toString() {
        return id
    }
}
